// Package delivery moves records from the collector to the sinks.
//
// Each sink is built without I/O and connected here: a runner calls the
// sink's Connect before anything else and, while it fails, again with the
// same backoff as failed writes, so a store that is down at start never
// stops the collector. With a spool the records wait there meanwhile; Stats
// shows the sink as connecting, with its last connect error.
//
// With a spool, Deliver encodes a request's records and appends them to the
// spool; it returns once they are durable there (or, with WaitForSinks, once
// every sink has passed them), and the request is acknowledged after it.
// One runner per sink then reads the spool through the sink's own persisted
// cursor, at the sink's own pace: it batches records by count, size and
// linger time, retries transient write errors with exponential backoff and
// jitter (honouring a destination's Retry-After), and sends what the sink
// can never take (a permanent error, or max_attempts transient ones) to the
// sink's dead letter with the error attached, so the records behind it keep
// flowing. A cursor moves only after its batch is written or dead-lettered,
// so a crash re-delivers (at least once) and never skips. For a
// sink.Staging (one that gathers writes into larger units, as the s3 sink
// fills files), written is not enough: the cursor moves past a batch once
// the sink counts it stored, the runner calls the sink's Flush when the
// sink says it is due (retrying as failed writes), and when Close drains
// it flushes everything the sink holds.
//
// A slow or dead sink holds back only its own cursor; the others go on. The
// collector feels it only when the records that sink has not passed fill the
// spool to its cap: Deliver then fails with an error matching spool.ErrFull,
// Ready reports it, and the collector answers 503 until sinks catch up.
//
// Without a spool (accord replay, which runs beside the collector that
// holds it), Deliver writes to every sink before it returns and WriteSink
// to one, and both refuse records (ErrNotConnected; Ready says so too)
// while a sink they write is not connected, as nothing could hold them.
// The collector always has a spool: without one, a request one sink failed
// would be answered 503 after the others stored it.
//
// The service counts, per sink, what it delivered, retried and
// dead-lettered and its last error, and per contract the good and failed
// records accepted; it keeps the counters beside the spool, so accord spool
// status can show them while the server is stopped.
package delivery
