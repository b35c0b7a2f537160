/**
 * The Lua scripts of the fleet. Each touches exactly one key (so they run unchanged on a Redis
 * Cluster), and each heals garbage it finds under its key (a wrong type, a lock without
 * expiry, a version that is not a number) instead of failing on it forever: Redis is never
 * trusted, only used.
 */
import { createHash } from 'node:crypto';

/** A script and its SHA-1 (for `EVALSHA`). */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Largest version a record may carry: versions stay exact integers in Lua's doubles. */
export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/**
 * GET: KEYS[1] = record hash {v, d}; ARGV = largest value in bytes, largest version.
 * Returns {0} (none) or {1, v, d}. Garbage is removed (so the next good write is not blocked
 * by it) and reported: {-1, type} (not a hash), {-2, bytes} (value too large: never sent),
 * {-3} (version not a decimal integer in range), {-4} (no value).
 */
export const GET = script(`
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return {0} end
if t ~= 'hash' then redis.call('DEL', KEYS[1]); return {-1, t} end
local n = redis.call('HSTRLEN', KEYS[1], 'd')
if n > tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]); return {-2, n} end
local v = redis.call('HGET', KEYS[1], 'v')
if not v or string.len(v) > 16 or not string.match(v, '^%d+$') or tonumber(v) > tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1]); return {-3}
end
if n == 0 then redis.call('DEL', KEYS[1]); return {-4} end
return {1, v, redis.call('HGET', KEYS[1], 'd')}
`);

/** PING: a script that answers 1 (the breaker's probe goes the same way as every call). */
export const PING = script(`return 1`);

/**
 * SET IF NEWER: KEYS[1] = record hash; ARGV = version, value, channel, max version.
 * Writes {v, d} only if the stored version is smaller (or missing, or garbage), then
 * publishes the version on the channel in the same atomic step. Returns 1 (written) or 0.
 */
export const SET_IF_NEWER = script(`
local t = redis.call('TYPE', KEYS[1]).ok
local new = tonumber(ARGV[1])
if t == 'hash' then
  local cur = tonumber(redis.call('HGET', KEYS[1], 'v'))
  if cur ~= nil and cur == cur and cur >= 0 and cur <= tonumber(ARGV[4]) and cur >= new then return 0 end
end
if t ~= 'none' then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[1])
return 1
`);

/**
 * DELETE IF VERSION: KEYS[1] = record hash; ARGV[1] = version. Deletes the record only if it
 * still carries that version (a record found unusable, e.g. failing its MAC, is removed
 * without racing a good write). Returns 1 or 0.
 */
export const DELETE_IF_VERSION = script(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
if redis.call('HGET', KEYS[1], 'v') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * LOCK: KEYS[1] = lock key; ARGV = token, ttl ms, largest ttl ms. A key there that is not a
 * string or has no or a too long expiry is not a lock any instance took: it is removed. Then
 * SET NX PX. Returns 1 (taken) or 0.
 */
export const LOCK = script(`
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' then
  local ttl = redis.call('PTTL', KEYS[1])
  if t ~= 'string' or ttl < 0 or ttl > tonumber(ARGV[3]) then redis.call('DEL', KEYS[1]) end
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
`);

/** UNLOCK: KEYS[1] = lock key; ARGV[1] = token. Compare-and-delete. Returns 1 or 0. */
export const UNLOCK = script(`
if redis.call('TYPE', KEYS[1]).ok ~= 'string' then return 0 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * TAKE: KEYS[1] = bucket hash {t, at}; ARGV = burst, cooldown ms. A token bucket refilled at
 * one token per cooldown up to burst, dated by Redis' own clock (TIME), so instance clocks do
 * not matter. Garbage state (a wrong type, NaN, out of range) is reset to a full bucket; a
 * Redis clock that went back does not refill. Returns {1, 0} (taken) or {0, ms until one
 * token}.
 */
export const TAKE = script(`
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local burst = tonumber(ARGV[1])
local cooldown = tonumber(ARGV[2])
local t = redis.call('TYPE', KEYS[1]).ok
local tokens, at = nil, nil
if t == 'hash' then
  local s = redis.call('HMGET', KEYS[1], 't', 'at')
  tokens = tonumber(s[1])
  at = tonumber(s[2])
elseif t ~= 'none' then
  redis.call('DEL', KEYS[1])
end
if tokens == nil or at == nil or tokens ~= tokens or at ~= at then tokens = burst; at = now end
if tokens < 0 then tokens = 0 end
if at > now then at = now end
tokens = math.min(burst, tokens + (now - at) / cooldown)
local taken, wait = 0, 0
if tokens >= 1 - 1e-9 then
  tokens = math.max(0, tokens - 1)
  taken = 1
else
  wait = math.ceil((1 - tokens) * cooldown)
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * cooldown) + 1000)
return {taken, wait}
`);
