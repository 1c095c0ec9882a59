package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleAndDevConfigsLoad(t *testing.T) {
	env := []string{
		"JINDALAI_WECHAT_APP_SECRET=s3cret",
		"JINDALAI_SECURITY_PII_KEY=ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE=",
	}
	for _, f := range []string{"config.example.yaml", "config.dev.yaml"} {
		if _, err := Load(filepath.Join("..", "deploy", f), env); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "deploy", "config.dev.yaml"), []string{
		"JINDALAI_MYSQL_DSN=u:p@tcp(db:3306)/x",
		"JINDALAI_HTTP_SHUTDOWN_TIMEOUT=3s",
		"JINDALAI_SECURITY_BOOTSTRAP_ADMINS=a, b",
		"JINDALAI_DISPATCH_SEARCH_RADII_M=1000,5000",
		"JINDALAI_MYSQL_MIGRATE_ON_START=false",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MySQL.DSN != "u:p@tcp(db:3306)/x" || cfg.HTTP.ShutdownTimeout != 3*time.Second ||
		strings.Join(cfg.Security.BootstrapAdmins, "|") != "a|b" || len(cfg.Dispatch.SearchRadiiM) != 2 ||
		cfg.MySQL.MigrateOnStart {
		t.Fatalf("overrides not applied: %+v", cfg)
	}
}

func TestValidationNamesTheBadKey(t *testing.T) {
	dev := filepath.Join("..", "deploy", "config.dev.yaml")
	cases := map[string]string{
		"JINDALAI_SECURITY_PII_KEY=short":            "security.pii_key",
		"JINDALAI_ENV=production":                    "wechat.fake",
		"JINDALAI_HTTP_ADDR=nope":                    "http.addr",
		"JINDALAI_WECHAT_FAKE_ADDR=10.0.0.1:9443":    "wechat.fake_addr",
		"JINDALAI_DISPATCH_SEARCH_RADII_M=5000,1000": "dispatch.search_radii_m",
		"JINDALAI_DISPATCH_SUBMIT_BATCH_MAX=0":       "dispatch.submit_batch_max",
		"JINDALAI_HTTP_SHUTDOWN_TIMEOUT=soon":        "http.shutdown_timeout",
		"JINDALAI_TIMEZONE=Mars/Olympus":             "timezone",
		"JINDALAI_HTTP_DEBUG_ADDR=0.0.0.0:6060":      "http.debug_addr",
		"JINDALAI_SECURITY_SESSION_CACHE_TTL=1h":     "security.session_cache_ttl",
	}
	for env, key := range cases {
		_, err := Load(dev, []string{env})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: got %v, want an error naming %s", env, err, key)
		}
	}
}

func TestUnknownKeyRejected(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(f, []byte("env: development\nhttp:\n  adr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(f, nil); err == nil || !strings.Contains(err.Error(), "adr") {
		t.Fatalf("got %v, want an error naming adr", err)
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	cfg := Defaults()
	cfg.WeChat.AppSecret = "s3cret"
	cfg.Security.PIIKey = "k3y"
	cfg.MySQL.DSN = "user:pa55@tcp(h:1)/db"
	r := cfg.Redacted()
	s := strings.Join([]string{r.WeChat.AppSecret, r.Security.PIIKey, r.MySQL.DSN}, " ")
	for _, secret := range []string{"s3cret", "k3y", "pa55"} {
		if strings.Contains(s, secret) {
			t.Errorf("%q leaks in %q", secret, s)
		}
	}
}
