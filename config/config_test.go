package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleAndDevConfigsLoad(t *testing.T) {
	env := []string{
		"JINDALAI_WECHAT_APP_SECRET=s3cret",
		"JINDALAI_SECURITY_PII_KEY=" + base64.StdEncoding.EncodeToString([]byte("an-example-key-of-32-bytes-long!")),
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
	// Production with the real WeChat and the development config's key.
	_, err := Load(dev, []string{"JINDALAI_ENV=production", "JINDALAI_WECHAT_FAKE=false"})
	if err == nil || !strings.Contains(err.Error(), "security.pii_key") {
		t.Errorf("production with the development PII key: got %v, want an error naming security.pii_key", err)
	}
	if _, err := Load(dev, []string{"JINDALAI_ENV=production", "JINDALAI_WECHAT_FAKE=false",
		"JINDALAI_SECURITY_PII_KEY=" + base64.StdEncoding.EncodeToString([]byte("a-production-key-of-32-bytes-ok!"))}); err != nil {
		t.Errorf("production with its own key: %v", err)
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

// TestEveryCheckNamesItsKey gives each validation check that the tests above
// leave out one bad value, and wants the error to start with that key.
func TestEveryCheckNamesItsKey(t *testing.T) {
	dev := filepath.Join("..", "deploy", "config.dev.yaml")
	for env, key := range map[string]string{
		"JINDALAI_ENV=staging":                          "env",
		"JINDALAI_HTTP_SHUTDOWN_TIMEOUT=0s":             "http.shutdown_timeout",
		"JINDALAI_HTTP_REQUEST_TIMEOUT=0s":              "http.request_timeout",
		"JINDALAI_MYSQL_DSN=":                           "mysql.dsn",
		"JINDALAI_MYSQL_MAX_OPEN_CONNS=0":               "mysql.max_open_conns",
		"JINDALAI_MYSQL_MAX_IDLE_CONNS=-1":              "mysql.max_idle_conns",
		"JINDALAI_REDIS_ADDR=":                          "redis.addr",
		"JINDALAI_REDIS_KEY_PREFIX=a{b}":                "redis.key_prefix",
		"JINDALAI_WECHAT_APP_ID=":                       "wechat.app_id",
		"JINDALAI_WECHAT_APP_SECRET=":                   "wechat.app_secret",
		"JINDALAI_WECHAT_MINIPROGRAM_STATE=beta":        "wechat.miniprogram_state",
		"JINDALAI_SECURITY_SESSION_TTL=30s":             "security.session_ttl",
		"JINDALAI_SECURITY_SESSION_MAX_AGE=1h":          "security.session_max_age",
		"JINDALAI_SECURITY_INVITE_TTL=30s":              "security.invite_ttl",
		"JINDALAI_LIMITS_LOGIN_PER_MINUTE_IP=0":         "limits.login_per_minute_ip",
		"JINDALAI_LIMITS_INVITE_PER_MINUTE_USER=0":      "limits.invite_per_minute_user",
		"JINDALAI_LIMITS_SUBMIT_PER_MINUTE_USER=0":      "limits.submit_per_minute_user",
		"JINDALAI_LIMITS_WRITES_PER_MINUTE_USER=0":      "limits.writes_per_minute_user",
		"JINDALAI_LIMITS_MAX_REQUEST_BODY_BYTES=0":      "limits.max_request_body_bytes",
		"JINDALAI_LIMITS_IDEMPOTENCY_TTL_MINUTES=0":     "limits.idempotency_ttl_minutes",
		"JINDALAI_DISPATCH_ACCEPT_BY_URGENT=0s":         "dispatch.accept_by_urgent",
		"JINDALAI_DISPATCH_ACCEPT_BY_NORMAL=0s":         "dispatch.accept_by_normal",
		"JINDALAI_DISPATCH_MAX_BOUNCES=-1":              "dispatch.max_bounces",
		"JINDALAI_DISPATCH_SEARCH_RADII_M=":             "dispatch.search_radii_m",
		"JINDALAI_DISPATCH_ESCALATION_EVERY=0s":         "dispatch.escalation_every",
		"JINDALAI_DISPATCH_SWEEP_EVERY=0s":              "dispatch.sweep_every",
		"JINDALAI_DISPATCH_QUEUE_LENGTHS_EVERY=-1s":     "dispatch.queue_lengths_every",
		"JINDALAI_LOG_LEVEL=trace":                      "log.level",
		"JINDALAI_ACTIVITIES_CHECKIN_RADIUS_M=5":        "activities.checkin_radius_m",
		"JINDALAI_ACTIVITIES_CHECKIN_OPENS_BEFORE=-1s":  "activities.checkin_opens_before",
		"JINDALAI_ACTIVITIES_CODE_ROTATION=5s":          "activities.code_rotation",
		"JINDALAI_ACTIVITIES_CODE_GRACE=2m":             "activities.code_grace",
		"JINDALAI_ACTIVITIES_CHECKOUT_GRACE=-1s":        "activities.checkout_grace",
		"JINDALAI_ACTIVITIES_NEARBY_RADIUS_M=10":        "activities.nearby_radius_m",
		"JINDALAI_ACTIVITIES_MAX_CAPACITY=0":            "activities.max_capacity",
		"JINDALAI_ACTIVITIES_MAX_CREDITED_HOURS=0":      "activities.max_credited_hours",
		"JINDALAI_ACTIVITIES_MAX_DURATION=10m":          "activities.max_duration",
		"JINDALAI_ACTIVITIES_CHECKIN_PER_MINUTE_USER=0": "activities.checkin_per_minute_user",
		"JINDALAI_BOOKINGS_CLOSE_BEFORE=-1s":            "bookings.close_before",
		"JINDALAI_BOOKINGS_CANCEL_BEFORE=-1s":           "bookings.cancel_before",
		"JINDALAI_BOOKINGS_REMIND_BEFORE=-1s":           "bookings.remind_before",
		"JINDALAI_BOOKINGS_NO_SHOW_LIMIT=-1":            "bookings.no_show_limit",
		"JINDALAI_BOOKINGS_NO_SHOW_WINDOW=0s":           "bookings.no_show_window",
		"JINDALAI_BOOKINGS_REMINDER_EVERY=10ms":         "bookings.reminder_every",
		"JINDALAI_NOTIFY_EVERY=0s":                      "notify.every",
		"JINDALAI_NOTIFY_MAX_ATTEMPTS=0":                "notify.max_attempts",
		"JINDALAI_NOTIFY_BASE_BACKOFF=0s":               "notify.base_backoff",
		"JINDALAI_NOTIFY_MAX_BACKOFF=1ms":               "notify.max_backoff",
		"JINDALAI_NOTIFY_BATCH_SIZE=0":                  "notify.batch_size",
	} {
		_, err := Load(dev, []string{env})
		if err == nil || !strings.HasPrefix(err.Error(), "config: "+key+":") {
			t.Errorf("%s: got %v, want an error naming %s", env, err, key)
		}
	}

	cfg, err := Load(dev, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.WeChat.Templates = map[string]TemplateConfig{"request_accepted": {Fields: map[string]string{"thing1": "title"}}}
	if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "config: wechat.templates.request_accepted.id:") {
		t.Errorf("template without id: got %v", err)
	}
}
