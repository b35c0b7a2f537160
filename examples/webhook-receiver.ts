import { createServer } from 'node:http';
import { verifyWebhookSignature } from 'jwks-keeper/sidecar';

const secret = process.env.JWKS_WEBHOOK_SECRET ?? 'change-me-to-16+-characters';

// a receiver for the sidecar's webhooks: check the signature over the raw body first
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    body += chunk;
    if (body.length > 65_536) req.destroy();
  });
  req.on('end', () => {
    const signature = req.headers['x-jwks-keeper-signature'];
    if (!verifyWebhookSignature(secret, body, typeof signature === 'string' ? signature : undefined)) {
      res.writeHead(401).end();
      return;
    }
    const event = JSON.parse(body) as { type: string; issuer: string; added?: string[]; removed?: string[] };
    console.log(`${event.type} at ${event.issuer}`, event.added ?? '', event.removed ?? '');
    res.writeHead(204).end(); // any 2xx stops the retries
  });
});

server.listen(0, '127.0.0.1', () => server.close()); // your port; closed at once in this example
