package config

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsServeSQLiteOnPort8080(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "" || c.Addr != ":8080" || c.BaseURL != "http://localhost:8080" || !c.Playground || !c.Introspection || c.Dev || c.LogLevel != slog.LevelInfo {
		t.Errorf("defaults = %+v", c)
	}
}

func TestFlagsWinOverTheEnvironment(t *testing.T) {
	t.Parallel()
	c, err := Load([]string{"--addr", "127.0.0.1:9", "--dev", "--log-level", "debug", "--base-url", "https://t.example/"},
		env(map[string]string{"ADDR": ":1", "DEV": "false", "DATABASE_URL": "postgres://x/y", "INTROSPECTION": "false"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9" || !c.Dev || c.LogLevel != slog.LevelDebug || c.DatabaseURL != "postgres://x/y" ||
		c.Introspection || c.BaseURL != "https://t.example" {
		t.Errorf("config = %+v", c)
	}
}

func TestBadSettingsAreRefusedWithTheirName(t *testing.T) {
	t.Parallel()
	for name, e := range map[string]map[string]string{
		"BASE_URL":         {"BASE_URL": "track.example.com"},
		"LOG_LEVEL":        {"LOG_LEVEL": "loud"},
		"COMPLEXITY_LIMIT": {"COMPLEXITY_LIMIT": "0"},
		"PLAYGROUND":       {"PLAYGROUND": "maybe"},
	} {
		if _, err := Load(nil, env(e), io.Discard); err == nil || !contains(err.Error(), name) {
			t.Errorf("%v: error %v, want one naming %s", e, err, name)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestTrustedProxiesAreCIDRs(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7/32"}), io.Discard)
	if err != nil || len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.168.1.7/32" {
		t.Fatalf("TRUSTED_PROXIES: %v, %v", c.TrustedProxies, err)
	}
	if _, err := Load(nil, env(map[string]string{"TRUSTED_PROXIES": "10.0.0.1"}), io.Discard); err == nil {
		t.Error("a bare address was taken as a CIDR")
	}
}

func TestMetricsTokenComesFromTheEnvironmentOrTheFlag(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(map[string]string{"METRICS_TOKEN": "from-env"}), io.Discard)
	if err != nil || c.MetricsToken != "from-env" {
		t.Errorf("METRICS_TOKEN: config %+v, err %v", c, err)
	}
	c, err = Load([]string{"--metrics-token", "from-flag"}, env(map[string]string{"METRICS_TOKEN": "from-env"}), io.Discard)
	if err != nil || c.MetricsToken != "from-flag" {
		t.Errorf("--metrics-token: config %+v, err %v", c, err)
	}
	if c, _ := Load(nil, env(nil), io.Discard); c.MetricsToken != "" {
		t.Errorf("metrics token by default = %q, want none", c.MetricsToken)
	}
}

func TestDeadlinesLimitsAndRetentionHaveSafeDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.GraphQLTimeout != 10*time.Second || c.TrackingTimeout != 5*time.Second || c.StatementTimeout != 30*time.Second ||
		c.ClickLimit != (Limit{600, time.Minute}) || c.FailedPostbackLimit != (Limit{60, time.Minute}) ||
		c.PostbackLogRetention != 90*24*time.Hour {
		t.Errorf("defaults = %+v", c)
	}
	c, err = Load([]string{"--click-rate-limit", "0", "--postback-log-retention", "0", "--postback-failure-limit", "5/s"}, env(nil), io.Discard)
	if err != nil || !c.ClickLimit.Off() || c.PostbackLogRetention != 0 || c.FailedPostbackLimit != (Limit{5, time.Second}) {
		t.Errorf("turned off: %+v, %v", c, err)
	}
	for name, e := range map[string]map[string]string{
		"TRACKING_TIMEOUT":       {"TRACKING_TIMEOUT": "0"},
		"CLICK_RATE_LIMIT":       {"CLICK_RATE_LIMIT": "10/week"},
		"POSTBACK_LOG_RETENTION": {"POSTBACK_LOG_RETENTION": "ninety"},
	} {
		if _, err := Load(nil, env(e), io.Discard); err == nil || !contains(err.Error(), name) {
			t.Errorf("%v: error %v, want one naming %s", e, err, name)
		}
	}
}

func TestDevListensOnLoopbackUnlessAddrIsGiven(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--dev"}, nil, DevAddr},
		{nil, map[string]string{"DEV": "1"}, DevAddr},
		{[]string{"--dev"}, map[string]string{"ADDR": ":9000"}, ":9000"},
		{[]string{"--dev", "--addr", "0.0.0.0:7"}, nil, "0.0.0.0:7"},
		{nil, nil, ":8080"},
	} {
		c, err := Load(tc.args, env(tc.env), io.Discard)
		if err != nil || c.Addr != tc.want {
			t.Errorf("Load(%v, %v): addr %q (%v), want %q", tc.args, tc.env, c.Addr, err, tc.want)
		}
	}
}

func TestFlagsAreTypedByTheirDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load([]string{"--playground=false", "--introspection", "--complexity-limit", "7", "--stats-interval", "1m"}, env(nil), io.Discard)
	if err != nil || c.Playground || !c.Introspection || c.ComplexityLimit != 7 || c.StatsInterval.String() != "1m0s" {
		t.Fatalf("config = %+v, %v", c, err)
	}
	for _, bad := range [][]string{{"--complexity-limit", "lots"}, {"--stats-lag", "soon"}, {"--dev=maybe"}} {
		if _, err := Load(bad, env(nil), io.Discard); err == nil || !contains(err.Error(), strings.SplitN(bad[0][2:], "=", 2)[0]) {
			t.Errorf("Load(%v): %v, want an error naming the flag", bad, err)
		}
	}
}

func TestPprofListensOnlyOnLoopbackAndOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	if c, err := Load(nil, env(nil), io.Discard); err != nil || c.PprofAddr != "" {
		t.Errorf("by default PprofAddr = %q (err %v), want none", c.PprofAddr, err)
	}
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060"} {
		if c, err := Load(nil, env(map[string]string{"PPROF_ADDR": addr}), io.Discard); err != nil || c.PprofAddr != addr {
			t.Errorf("PPROF_ADDR=%s: config %q, err %v", addr, c.PprofAddr, err)
		}
	}
	for _, addr := range []string{":6060", "0.0.0.0:6060", "10.0.0.1:6060", "127.0.0.1", "example.com:6060"} {
		if _, err := Load([]string{"--pprof-addr", addr}, env(nil), io.Discard); err == nil || !contains(err.Error(), "PPROF_ADDR") {
			t.Errorf("--pprof-addr %s: error %v, want one naming PPROF_ADDR", addr, err)
		}
	}
}
