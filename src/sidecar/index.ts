/**
 * `jwks-keeper/sidecar`: the sidecar as a library (what `jwks-keeper serve` runs), and the
 * webhook signature helpers for receivers.
 *
 * @packageDocumentation
 */
export { createSidecar } from './server.js';
export type { Sidecar, SidecarDeps, LogSink, LogFields } from './server.js';
export { validateConfig, resolveLimits, SidecarConfigError } from './config.js';
export type { SidecarConfig, SidecarIssuer, SidecarWebhook, SidecarLimits, ResolvedLimits, SidecarFleet, ResolvedSidecarFleet } from './config.js';
export { SIDECAR_EVENTS } from './hub.js';
export type { SidecarEvent, SidecarEventType, EventHub } from './hub.js';
export { signWebhook, verifyWebhookSignature } from './webhooks.js';
export type { WebhookStats } from './webhooks.js';
