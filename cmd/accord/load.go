package main

import (
	"github.com/accord-events/accord/internal/app"
	"github.com/spf13/cobra"
)

func newLoadCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Run the sinks on the shared log that collectors write (spool.kind kafka or jetstream)",
		Long: `Run the configured sinks on the shared log that collectors with
spool.kind kafka or jetstream write to.

With kafka, each sink is a Kafka consumer group of its own
(spool.kafka.group_prefix.SINK) and the loaders running it share its
partitions: run at most as many loaders as the topic has partitions. An
offset is committed only once the sink has written (or sent to its dead
letter, under spool.dead_letter_dir) every record before it, so a loader
that dies leaves its partitions, from its last commit on, to the others.

With jetstream, each sink is a durable pull consumer of its own
(spool.jetstream.durable_prefix_SINK) that every loader pulls from; a record
is acknowledged only once the sink has written (or dead-lettered) it, and a
record a dead loader held goes to another one after spool.jetstream.ack_wait.

Either way records are delivered at least once, and sinks deduplicate on
event_id. It reads the same configuration file as accord serve (spool and
sinks). It serves /healthz and /readyz (503 while the brokers are
unreachable) without credentials, and /stats and /metrics behind
admin.auth, on admin.addr, or on server.addr when that is empty. On SIGTERM
or SIGINT it stops reading, commits what its sinks wrote, leaves (so the
records move at once) and exits 0. See docs/scale-out.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			return runApp(cmd.Context(), cfg, app.Options{Version: buildVersion(), Watch: true, Deliver: true, Load: true})
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	return cmd
}
