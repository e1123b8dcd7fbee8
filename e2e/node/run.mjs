// Shared plumbing of the client scripts that e2e/node_test.go runs: where
// the collector is, how a script reports what it sent, and how it fails.

// collectorURL is the collector's base URL, from ACCORD_URL or the first
// argument, without a trailing slash.
export function collectorURL() {
  const url = process.env.ACCORD_URL || process.argv[2];
  if (!url) {
    throw new Error("no collector URL: set ACCORD_URL or pass it as the first argument");
  }
  return url.replace(/\/+$/, "");
}

// main runs send, prints the summary it returns as one JSON line on stdout
// and exits 0; on any error it prints the error on stderr and exits 1.
export function main(send) {
  send().then(
    (summary) => {
      process.stdout.write(JSON.stringify(summary) + "\n");
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
      process.exit(1);
    },
  );
}
