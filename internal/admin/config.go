package admin

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Config is the admin section of accord.yml.
type Config struct {
	Addr string `yaml:"addr" doc:"Address the admin routes (the registry API under /api/, /stats, /metrics and the web UI) listen on, host:port, apart from the collector; empty serves them on server.addr beside the collection routes. Keep it on a loopback address, such as 127.0.0.1:9090, or set admin.auth."`
	Auth Auth   `yaml:"auth" doc:"Credentials the admin routes require; with none set they are open, which is safe only on a loopback address (Accord warns at start otherwise). Set them from the environment."`
}

// Auth is how admin requests authenticate: a bearer token, HTTP basic
// auth, or either when both are set.
type Auth struct {
	Token    string `yaml:"token" doc:"Bearer token admin requests send as Authorization: Bearer TOKEN; empty: no token. Generate one with openssl rand -hex 32."`
	Username string `yaml:"username" doc:"User name of HTTP basic auth on the admin routes (for browsers); set with admin.auth.password."`
	Password string `yaml:"password" doc:"Password of HTTP basic auth on the admin routes; set with admin.auth.username."`
}

// Validate checks the admin section; messages name the key and the fix.
func (c Config) Validate() error {
	var errs []error
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			errs = append(errs, fmt.Errorf("addr: %q is not host:port (%v); use something like 127.0.0.1:9090, or leave it empty to serve admin routes on server.addr", c.Addr, err))
		}
	}
	if strings.ContainsAny(c.Auth.Token, " \t\r\n,") {
		errs = append(errs, errors.New("auth.token: must not contain spaces or commas; generate one with openssl rand -hex 32"))
	}
	if (c.Auth.Username == "") != (c.Auth.Password == "") {
		errs = append(errs, errors.New("auth.username: basic auth needs both admin.auth.username and admin.auth.password; set both or neither"))
	}
	if strings.Contains(c.Auth.Username, ":") {
		errs = append(errs, errors.New("auth.username: must not contain a colon (HTTP basic auth splits on it)"))
	}
	return errors.Join(errs...)
}
