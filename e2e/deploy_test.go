package e2e

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/accord-events/accord/internal/app"
	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/server"
)

// k8sObject is the part of a Kubernetes object the checks read.
type k8sObject struct {
	APIVersion string                `yaml:"apiVersion"`
	Kind       string                `yaml:"kind"`
	Metadata   struct{ Name string } `yaml:"metadata"`
	Data       map[string]string     `yaml:"data"`
	Spec       struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
				Containers                    []container `yaml:"containers"`
				Volumes                       []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
		Ports []struct {
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
		// HorizontalPodAutoscaler
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas int   `yaml:"minReplicas"`
		MaxReplicas int   `yaml:"maxReplicas"`
		Metrics     []any `yaml:"metrics"`
	} `yaml:"spec"`
	raw map[string]any
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name string `yaml:"name"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	VolumeMounts   []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// The Kubernetes manifests of docs/scale-out.md: every object docs name is
// there with the fields it needs, the configuration in the ConfigMap passes
// Accord's own checks (those of accord serve and of accord load), and the
// ports, probes and grace periods match the binary's defaults and that
// configuration.
func TestDeployKubernetesManifests(t *testing.T) {
	data, err := os.ReadFile("../deploy/kubernetes/accord.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string]*k8sObject{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("deploy/kubernetes/accord.yaml: %v", err)
		}
		b, _ := yaml.Marshal(raw)
		var o k8sObject
		if err := yaml.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		o.raw = raw
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Errorf("an object without apiVersion, kind or metadata.name: %v", raw)
		}
		objects[o.Kind+"/"+o.Metadata.Name] = &o
	}
	need := func(key string) *k8sObject {
		t.Helper()
		o, ok := objects[key]
		if !ok {
			t.Fatalf("deploy/kubernetes/accord.yaml has no %s (it has %d objects)", key, len(objects))
		}
		return o
	}
	cm := need("ConfigMap/accord")
	collector := need("Deployment/accord-collector")
	loader := need("Deployment/accord-loader")
	svc := need("Service/accord-collector")
	hpa := need("HorizontalPodAutoscaler/accord-collector")

	// The configuration passes accord serve's and accord load's checks,
	// with the DSN set from the Secret as the loader's environment sets it.
	path := filepath.Join(t.TempDir(), "accord.yml")
	if err := os.WriteFile(path, []byte(cm.Data["accord.yml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	dsn := "postgres://accord:pw@postgres:5432/events"
	cfg, err := config.Load(path, []string{"ACCORD_SINKS_0_OPTIONS_DSN=" + dsn}, app.ProtocolTypes())
	if err != nil {
		t.Fatalf("the ConfigMap's accord.yml: %v", err)
	}
	if cfg.Spool.Kind != config.SpoolKafka {
		t.Errorf("spool.kind %q, want kafka", cfg.Spool.Kind)
	}
	if got := cfg.Sinks[0].Options["dsn"]; got != dsn {
		t.Errorf("ACCORD_SINKS_0_OPTIONS_DSN set the DSN to %v, want %s", got, dsn)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, opts := range []app.Options{{Deliver: true, Serve: true}, {Deliver: true, Load: true}} {
		if _, err := app.Build(cfg, quiet, opts); err != nil {
			t.Errorf("build with %+v: %v", opts, err)
		}
	}

	// Ports and probes: the collector's port is server.addr's, which is
	// the binary's default.
	_, cfgPort, _ := net.SplitHostPort(cfg.Server.Addr)
	_, defPort, _ := net.SplitHostPort(server.DefaultOptions().Addr)
	if cfgPort != defPort {
		t.Errorf("server.addr port %s, the binary's default %s", cfgPort, defPort)
	}
	grace := int((cfg.Server.LameDuck + cfg.Server.ShutdownTimeout + cfg.Spool.DrainTimeout) / time.Second)
	for _, d := range []*k8sObject{collector, loader} {
		spec := d.Spec.Template.Spec
		if len(d.Spec.Selector.MatchLabels) == 0 {
			t.Errorf("%s: no selector", d.Metadata.Name)
		}
		for k, v := range d.Spec.Selector.MatchLabels {
			if d.Spec.Template.Metadata.Labels[k] != v {
				t.Errorf("%s: selector %s=%s does not match the pod template's labels", d.Metadata.Name, k, v)
			}
		}
		if spec.TerminationGracePeriodSeconds < grace {
			t.Errorf("%s: terminationGracePeriodSeconds %d, less than lame_duck + shutdown_timeout + drain_timeout (%ds)", d.Metadata.Name, spec.TerminationGracePeriodSeconds, grace)
		}
		if len(spec.Containers) != 1 || spec.Containers[0].Image == "" {
			t.Fatalf("%s: want one container with an image", d.Metadata.Name)
		}
		mounted := false
		for _, m := range spec.Containers[0].VolumeMounts {
			for _, v := range spec.Volumes {
				if v.Name == m.Name && v.ConfigMap != nil && v.ConfigMap.Name == "accord" && filepath.Join(m.MountPath, "accord.yml") == argAfter(spec.Containers[0].Args, "--config") {
					mounted = true
				}
			}
		}
		if !mounted {
			t.Errorf("%s: --config %q is not the ConfigMap accord mounted", d.Metadata.Name, argAfter(spec.Containers[0].Args, "--config"))
		}
	}
	cc := collector.Spec.Template.Spec.Containers[0]
	lc := loader.Spec.Template.Spec.Containers[0]
	if len(cc.Args) == 0 || cc.Args[0] != "serve" || len(lc.Args) == 0 || lc.Args[0] != "load" {
		t.Errorf("collector args %v, loader args %v; want serve and load", cc.Args, lc.Args)
	}
	if len(cc.Ports) != 1 || strconv.Itoa(cc.Ports[0].ContainerPort) != cfgPort {
		t.Errorf("collector ports %+v, want one on %s", cc.Ports, cfgPort)
	}
	portName := ""
	if len(cc.Ports) == 1 {
		portName = cc.Ports[0].Name
	}
	for what, p := range map[string]*probe{"/readyz": cc.ReadinessProbe, "/healthz": cc.LivenessProbe} {
		if p == nil || p.HTTPGet.Path != what || p.HTTPGet.Port != portName {
			t.Errorf("collector probe %s: %+v, want GET %s on port %s", what, p, what, portName)
		}
	}
	// The loader serves its probes on admin.addr, or on server.addr when
	// that is empty (accord load's own port).
	loaderPort := cfgPort
	if cfg.Admin.Addr != "" {
		_, loaderPort, _ = net.SplitHostPort(cfg.Admin.Addr)
	}
	if len(lc.Ports) != 1 || strconv.Itoa(lc.Ports[0].ContainerPort) != loaderPort {
		t.Errorf("loader ports %+v, want one on %s", lc.Ports, loaderPort)
	}
	loaderPortName := ""
	if len(lc.Ports) == 1 {
		loaderPortName = lc.Ports[0].Name
	}
	for what, p := range map[string]*probe{"/readyz": lc.ReadinessProbe, "/healthz": lc.LivenessProbe} {
		if p == nil || p.HTTPGet.Path != what || p.HTTPGet.Port != loaderPortName {
			t.Errorf("loader probe %s: %+v, want GET %s on port %s", what, p, what, loaderPortName)
		}
	}
	for k, v := range collector.Spec.Template.Metadata.Labels {
		sel, _ := svc.raw["spec"].(map[string]any)["selector"].(map[string]any)
		if sel[k] != v {
			t.Errorf("the Service's selector does not select the collectors (%s=%s)", k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != portName {
		t.Errorf("Service ports %+v, want one targeting %s", svc.Spec.Ports, portName)
	}
	envs := map[string]bool{}
	for _, e := range lc.Env {
		envs[e.Name] = true
	}
	if !envs["ACCORD_SINKS_0_OPTIONS_DSN"] {
		t.Error("the loader does not set the DSN from the Secret")
	}
	if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != "accord-collector" ||
		hpa.Spec.MinReplicas < 1 || hpa.Spec.MaxReplicas < hpa.Spec.MinReplicas || len(hpa.Spec.Metrics) == 0 {
		t.Errorf("HorizontalPodAutoscaler: %+v", hpa.Spec)
	}
}

func argAfter(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// The systemd units: accord serve and accord load on the configuration
// file, stopped with SIGTERM and given longer than the graceful stop's
// deadlines; exit status 3 (a deadline passed) is not a failure. The
// Dockerfile exposes the binary's default port and builds with the Go of
// go.mod.
func TestDeploySystemdAndDockerfile(t *testing.T) {
	def := config.Default(app.ProtocolTypes())
	grace := def.Server.LameDuck + def.Server.ShutdownTimeout + def.Spool.DrainTimeout
	for file, command := range map[string]string{"accord.service": "serve", "accord-load.service": "load"} {
		units := readUnit(t, filepath.Join("../deploy/systemd", file))
		svc := units["Service"]
		if units["Unit"]["Description"] == "" || units["Install"]["WantedBy"] == "" {
			t.Errorf("%s: no Description or WantedBy", file)
		}
		fields := strings.Fields(svc["ExecStart"])
		if len(fields) < 2 || filepath.Base(fields[0]) != "accord" || fields[1] != command || argAfter(fields, "--config") == "" {
			t.Errorf("%s: ExecStart %q, want accord %s --config FILE", file, svc["ExecStart"], command)
		}
		if svc["KillSignal"] != "SIGTERM" {
			t.Errorf("%s: KillSignal %q", file, svc["KillSignal"])
		}
		stop, err := time.ParseDuration(svc["TimeoutStopSec"])
		if err != nil || stop <= grace {
			t.Errorf("%s: TimeoutStopSec %q, want more than %s", file, svc["TimeoutStopSec"], grace)
		}
		if command == "serve" && svc["SuccessExitStatus"] != "3" {
			t.Errorf("%s: SuccessExitStatus %q, want 3", file, svc["SuccessExitStatus"])
		}
	}
	docker, err := os.ReadFile("../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(def.Server.Addr)
	if !regexp.MustCompile(`(?m)^EXPOSE ` + port + `$`).Match(docker) {
		t.Errorf("deploy/Dockerfile does not EXPOSE %s", port)
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if goVersion == nil || !bytes.Contains(docker, []byte("FROM golang:"+string(goVersion[1])+" ")) {
		t.Errorf("deploy/Dockerfile does not build with the Go of go.mod (%s)", goVersion)
	}
	if !bytes.Contains(docker, []byte(`ENTRYPOINT ["/accord"]`)) {
		t.Error("deploy/Dockerfile: no ENTRYPOINT /accord")
	}
}

// readUnit reads a systemd unit file's sections and keys.
func readUnit(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	units := map[string]map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			units[section] = map[string]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: %q is not KEY=VALUE in a section", path, line)
			}
			units[section][k] = v
		}
	}
	return units
}
