// Package callbacks tells publishers and partners about their conversions: reward callbacks
// (signed JSON, Standard Webhooks) and GET postbacks from a URL template.
//
// Invariants:
//   - The outbox: Enqueue writes one delivery per matching enabled endpoint and status change
//     in the transaction that makes the change, so a change that rolls back has no callback
//     and a committed change has all of its callbacks. It is one INSERT … SELECT.
//   - Workers (any number, in every replica) claim due deliveries one batch at a time. On
//     PostgreSQL a batch stays locked (FOR UPDATE SKIP LOCKED) in one transaction from claim
//     to record, so other workers skip it and a dead worker's locks go with its connection. On
//     SQLite (one writer) a claim is a lease with an expiry, and results are written only
//     while the lease is held. Either way a delivery is sent by one worker at a time; a worker
//     that dies mid-send leaves it to another, which sends it again with the same webhook-id:
//     delivery is at least once, and receivers deduplicate on webhook-id.
//   - Deliveries of one conversion to one endpoint go out in sequence order: a delivery is not
//     claimed while an earlier one of the same conversion and endpoint is PENDING.
//   - Every attempt is kept. 2xx delivers; network errors, timeouts, 408, 429 and 5xx retry
//     with exponential backoff and jitter (about a minute, doubling, for about three days);
//     other answers fail at once. An endpoint whose every attempt failed for 72 hours is
//     disabled with the reason.
//   - Sends connect only to public addresses checked at connect time (no redirects, no
//     proxies), unless AllowPrivate is set for development.
//
// The package owns the tables callback_endpoints, callback_deliveries and callback_attempts.
package callbacks
