package main

import (
	"fmt"
	"os"
	"time"

	"github.com/accord-events/accord/internal/loadgen"
	"github.com/spf13/cobra"
)

func newLoadgenCmd() *cobra.Command {
	var (
		url, bodyFile, contentType string
		batch, concurrency, max    int
		duration                   time.Duration
		rate                       float64
		clientIDs                  bool
	)
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Drive a running collector with concurrent requests and report events/s and latency",
		Long: `Drive a running collector with concurrent keep-alive requests and report
events per second and latency percentiles.

By default it sends NDJSON batches of checkout_completed events (with a user
context) that validate against the example contracts accord init writes.
Only point it at collectors you run yourself.`,
		Example: `  accord loadgen --url http://127.0.0.1:8080/events --batch 100 --concurrency 8 --duration 20s
  accord loadgen --url http://127.0.0.1:8080/events --batch 1 --concurrency 32 --rate 15000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := loadgen.CheckoutBatch(batch)
			if bodyFile != "" {
				b, err := os.ReadFile(bodyFile)
				if err != nil {
					return err
				}
				body = b
			}
			var bodyOf func(int) []byte
			if clientIDs {
				var err error
				if bodyOf, err = loadgen.WithClientIDs(body); err != nil {
					return err
				}
			}
			res, err := loadgen.Run(cmd.Context(), loadgen.Options{
				URL: url, Body: body, BodyOf: bodyOf, ContentType: contentType, EventsPerRequest: batch,
				Concurrency: concurrency, Duration: duration, MaxRequests: max, Rate: rate,
			})
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8080/events", "endpoint to POST to")
	cmd.Flags().IntVar(&batch, "batch", 100, "events per request")
	cmd.Flags().StringVar(&bodyFile, "body", "", "send this file as every request's body instead (set --batch to the events it holds)")
	cmd.Flags().StringVar(&contentType, "content-type", "application/x-ndjson", "Content-Type of the body")
	cmd.Flags().BoolVar(&clientIDs, "client-ids", false, "give every event of every request a random UUIDv4 event_id of its own, as trackers do (the body must be NDJSON); without it the collector stamps time-ordered ids")
	cmd.Flags().IntVar(&concurrency, "concurrency", 8, "requests in flight at once")
	cmd.Flags().DurationVar(&duration, "duration", 10*time.Second, "how long to run")
	cmd.Flags().Float64Var(&rate, "rate", 0, "pace the run at this many requests/s in total, latency counted from each request's due time (0: as fast as the collector answers)")
	cmd.Flags().IntVar(&max, "requests", 0, "stop after this many requests (0: run for --duration)")
	return cmd
}
