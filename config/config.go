// Package config loads Jindalai's configuration from a YAML file with
// JINDALAI_* environment overrides and validates it at start-up.
package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration. Each field's yaml path, upper-cased and
// joined with "_", prefixed with JINDALAI_, is its environment override
// (e.g. mysql.dsn → JINDALAI_MYSQL_DSN).
type Config struct {
	// Env is "development" or "production". Production refuses the fake WeChat.
	Env      string         `yaml:"env"`
	Timezone string         `yaml:"timezone"`
	HTTP     HTTPConfig     `yaml:"http"`
	MySQL    MySQLConfig    `yaml:"mysql"`
	Redis    RedisConfig    `yaml:"redis"`
	WeChat   WeChatConfig   `yaml:"wechat"`
	Security SecurityConfig `yaml:"security"`
	Limits   LimitsConfig   `yaml:"limits"`
	Dispatch DispatchConfig `yaml:"dispatch"`
	// Activities, Bookings and Notify are in features.go.
	Activities ActivitiesConfig `yaml:"activities"`
	Bookings   BookingsConfig   `yaml:"bookings"`
	Notify     NotifyConfig     `yaml:"notify"`
	Log        LogConfig        `yaml:"log"`
}

// HTTPConfig configures the API listener.
type HTTPConfig struct {
	Addr            string        `yaml:"addr"`
	ReadTimeout     time.Duration `yaml:"read_timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// RequestTimeout bounds each request's work (its context's deadline): a
	// hung dependency yields 503 unavailable instead of a hanging request.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// TrustedProxies lists the proxy CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// DebugAddr, when set, serves Go's profiler (/debug/pprof/) on this
	// loopback host:port, apart from the API. Empty: off.
	DebugAddr string `yaml:"debug_addr"`
}

// MySQLConfig configures the database pool.
type MySQLConfig struct {
	DSN             string        `yaml:"dsn"`
	MaxOpenConns    int           `yaml:"max_open_conns"`
	MaxIdleConns    int           `yaml:"max_idle_conns"`
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime"`
	MigrateOnStart  bool          `yaml:"migrate_on_start"`
}

// RedisConfig configures the Redis client.
type RedisConfig struct {
	Addr      string `yaml:"addr"`
	Password  string `yaml:"password"`
	DB        int    `yaml:"db"`
	KeyPrefix string `yaml:"key_prefix"`
	PoolSize  int    `yaml:"pool_size"`
}

// WeChatConfig configures the mini-program credentials, or the fake server.
type WeChatConfig struct {
	AppID     string `yaml:"app_id"`
	AppSecret string `yaml:"app_secret"`
	// Fake starts an in-process fake WeChat API on FakeAddr (development only).
	Fake        bool          `yaml:"fake"`
	FakeAddr    string        `yaml:"fake_addr"`
	HTTPTimeout time.Duration `yaml:"http_timeout"`
	// Templates maps a notification kind to its subscribe-message template.
	Templates map[string]TemplateConfig `yaml:"templates"`
	// MiniProgramState is "formal", "trial" or "developer".
	MiniProgramState string `yaml:"miniprogram_state"`
}

// TemplateConfig is one subscribe-message template: its id, the page opened,
// and which of our values fills which template keyword (e.g. thing1 → title).
type TemplateConfig struct {
	ID     string            `yaml:"id"`
	Page   string            `yaml:"page"`
	Fields map[string]string `yaml:"fields"`
}

// SecurityConfig holds sessions, PII protection and bootstrap admins.
type SecurityConfig struct {
	// PIIKey is 32 bytes, base64: AES-256-GCM for personal data and the HMAC
	// blind index (a separate key is derived from it).
	PIIKey string `yaml:"pii_key"`
	// SessionTTL is the idle timeout of a session (sliding); SessionMaxAge caps
	// its whole life.
	SessionTTL    time.Duration `yaml:"session_ttl"`
	SessionMaxAge time.Duration `yaml:"session_max_age"`
	// SessionCacheTTL is how long a replica may serve a session it read
	// from Redis before reading it again (0: off). Logout, revocation and
	// profile changes reach every replica's cache at once through Redis
	// Pub/Sub; the TTL bounds the rest.
	SessionCacheTTL time.Duration `yaml:"session_cache_ttl"`
	InviteTTL       time.Duration `yaml:"invite_ttl"`
	BootstrapAdmins []string      `yaml:"bootstrap_admins"`
}

// LimitsConfig holds rate limits (per minute) enforced through Redis.
type LimitsConfig struct {
	LoginPerMinuteIP      int `yaml:"login_per_minute_ip"`
	InvitePerMinuteUser   int `yaml:"invite_per_minute_user"`
	SubmitPerMinuteUser   int `yaml:"submit_per_minute_user"`
	WritesPerMinuteUser   int `yaml:"writes_per_minute_user"`
	MaxRequestBodyBytes   int `yaml:"max_request_body_bytes"`
	IdempotencyTTLMinutes int `yaml:"idempotency_ttl_minutes"`
}

// DispatchConfig holds the matching and dispatch rules.
type DispatchConfig struct {
	AcceptByUrgent  time.Duration `yaml:"accept_by_urgent"`
	AcceptByNormal  time.Duration `yaml:"accept_by_normal"`
	MaxBounces      int           `yaml:"max_bounces"`
	AutoCloseAfter  time.Duration `yaml:"auto_close_after"`
	SearchRadiiM    []int         `yaml:"search_radii_m"`
	LoadPenaltyM    int           `yaml:"load_penalty_m"`
	MaxOrgs         int           `yaml:"max_orgs"`
	EscalationEvery time.Duration `yaml:"escalation_every"`
	SweepEvery      time.Duration `yaml:"sweep_every"`
	// QueueLengthsEvery is how often the stations' queue lengths, which
	// matching weighs, are read into the process; 0 reads them with every
	// match.
	QueueLengthsEvery time.Duration `yaml:"queue_lengths_every"`
	// SubmitBatchMax is the most concurrent submits one transaction writes
	// (group commit); 1 writes each alone.
	SubmitBatchMax int `yaml:"submit_batch_max"`
}

// LogConfig configures slog.
type LogConfig struct {
	Level string `yaml:"level"`
}

// Defaults returns a Config with every default filled in.
func Defaults() Config {
	return Config{
		Env:      "production",
		Timezone: "Asia/Shanghai",
		HTTP: HTTPConfig{
			Addr:            "127.0.0.1:8080",
			ReadTimeout:     15 * time.Second,
			WriteTimeout:    30 * time.Second,
			ShutdownTimeout: 20 * time.Second,
			RequestTimeout:  10 * time.Second,
		},
		MySQL: MySQLConfig{MaxOpenConns: 40, MaxIdleConns: 40, ConnMaxLifetime: 5 * time.Minute},
		Redis: RedisConfig{KeyPrefix: "jdl:", PoolSize: 64},
		WeChat: WeChatConfig{
			FakeAddr:         "127.0.0.1:9443",
			HTTPTimeout:      5 * time.Second,
			MiniProgramState: "formal",
		},
		Security: SecurityConfig{SessionTTL: 7 * 24 * time.Hour, SessionMaxAge: 30 * 24 * time.Hour, SessionCacheTTL: 10 * time.Second, InviteTTL: 72 * time.Hour},
		Limits: LimitsConfig{
			LoginPerMinuteIP:      30,
			InvitePerMinuteUser:   5,
			SubmitPerMinuteUser:   10,
			WritesPerMinuteUser:   120,
			MaxRequestBodyBytes:   1 << 20,
			IdempotencyTTLMinutes: 24 * 60,
		},
		Dispatch: DispatchConfig{
			AcceptByUrgent:    30 * time.Minute,
			AcceptByNormal:    4 * time.Hour,
			MaxBounces:        3,
			AutoCloseAfter:    7 * 24 * time.Hour,
			SearchRadiiM:      []int{3000, 10000, 30000},
			LoadPenaltyM:      200,
			MaxOrgs:           3,
			EscalationEvery:   time.Second,
			SweepEvery:        time.Minute,
			QueueLengthsEvery: 250 * time.Millisecond,
			SubmitBatchMax:    64,
		},
		Activities: defaultActivities(),
		Bookings:   defaultBookings(),
		Notify:     defaultNotify(),
		Log:        LogConfig{Level: "info"},
	}
}

// Load reads path (empty: defaults only), applies environment overrides from
// environ (os.Environ() form) and validates the result.
func Load(path string, environ []string) (Config, error) {
	cfg := Defaults()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Location returns the configured time zone.
func (c Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// PIIKeyBytes returns the decoded 32-byte PII key.
func (c Config) PIIKeyBytes() []byte {
	b, _ := base64.StdEncoding.DecodeString(c.Security.PIIKey)
	return b
}

// IsProduction reports whether Env is production.
func (c Config) IsProduction() bool { return c.Env == "production" }

// DevelopmentPIIKey is the personal-data key of deploy/config.dev.yaml,
// published with the code: production refuses it.
const DevelopmentPIIKey = "ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE="

// isLoopbackAddr reports whether addr is host:port with a loopback IP host.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// Validate checks every key and names the first bad one.
func (c Config) Validate() error {
	bad := func(key, problem string) error { return fmt.Errorf("config: %s: %s", key, problem) }
	if c.Env != "production" && c.Env != "development" {
		return bad("env", `must be "production" or "development"`)
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		return bad("timezone", "unknown time zone")
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		return bad("http.addr", "must be host:port")
	}
	if c.HTTP.DebugAddr != "" && !isLoopbackAddr(c.HTTP.DebugAddr) {
		return bad("http.debug_addr", "must be a loopback host:port (the profiler is never public)")
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		return bad("http.shutdown_timeout", "must be positive")
	}
	if c.HTTP.RequestTimeout <= 0 {
		return bad("http.request_timeout", "must be positive")
	}
	if c.MySQL.DSN == "" {
		return bad("mysql.dsn", "is required")
	}
	if c.MySQL.MaxOpenConns < 1 {
		return bad("mysql.max_open_conns", "must be at least 1")
	}
	if c.MySQL.MaxIdleConns < 0 {
		return bad("mysql.max_idle_conns", "must not be negative")
	}
	if c.Redis.Addr == "" {
		return bad("redis.addr", "is required")
	}
	if c.Redis.KeyPrefix == "" || strings.ContainsAny(c.Redis.KeyPrefix, " {}") {
		return bad("redis.key_prefix", "must be non-empty, without spaces or braces")
	}
	if c.WeChat.AppID == "" {
		return bad("wechat.app_id", "is required")
	}
	if c.WeChat.AppSecret == "" {
		return bad("wechat.app_secret", "is required")
	}
	if c.WeChat.Fake {
		if c.IsProduction() {
			return bad("wechat.fake", "the fake WeChat server is refused in production")
		}
		if !isLoopbackAddr(c.WeChat.FakeAddr) {
			return bad("wechat.fake_addr", "must be a loopback host:port")
		}
	}
	switch c.WeChat.MiniProgramState {
	case "formal", "trial", "developer":
	default:
		return bad("wechat.miniprogram_state", `must be "formal", "trial" or "developer"`)
	}
	for kind, t := range c.WeChat.Templates {
		if t.ID == "" {
			return bad("wechat.templates."+kind+".id", "is required")
		}
	}
	if k, err := base64.StdEncoding.DecodeString(c.Security.PIIKey); err != nil || len(k) != 32 {
		return bad("security.pii_key", "must be 32 bytes, base64-encoded (openssl rand -base64 32)")
	}
	if c.IsProduction() && c.Security.PIIKey == DevelopmentPIIKey {
		return bad("security.pii_key", "the development key is public (deploy/config.dev.yaml): production needs its own (openssl rand -base64 32)")
	}
	if c.Security.SessionTTL < time.Minute {
		return bad("security.session_ttl", "must be at least 1m")
	}
	if c.Security.SessionMaxAge < c.Security.SessionTTL {
		return bad("security.session_max_age", "must be at least security.session_ttl")
	}
	if c.Security.SessionCacheTTL < 0 || c.Security.SessionCacheTTL > time.Minute {
		return bad("security.session_cache_ttl", "must be between 0 (off) and 1m")
	}
	if c.Security.InviteTTL < time.Minute {
		return bad("security.invite_ttl", "must be at least 1m")
	}
	for name, v := range map[string]int{
		"limits.login_per_minute_ip":     c.Limits.LoginPerMinuteIP,
		"limits.invite_per_minute_user":  c.Limits.InvitePerMinuteUser,
		"limits.submit_per_minute_user":  c.Limits.SubmitPerMinuteUser,
		"limits.writes_per_minute_user":  c.Limits.WritesPerMinuteUser,
		"limits.max_request_body_bytes":  c.Limits.MaxRequestBodyBytes,
		"limits.idempotency_ttl_minutes": c.Limits.IdempotencyTTLMinutes,
	} {
		if v < 1 {
			return bad(name, "must be at least 1")
		}
	}
	d := c.Dispatch
	if d.AcceptByUrgent <= 0 {
		return bad("dispatch.accept_by_urgent", "must be positive")
	}
	if d.AcceptByNormal <= 0 {
		return bad("dispatch.accept_by_normal", "must be positive")
	}
	if d.MaxBounces < 0 {
		return bad("dispatch.max_bounces", "must not be negative")
	}
	if len(d.SearchRadiiM) == 0 {
		return bad("dispatch.search_radii_m", "needs at least one radius")
	}
	for i, r := range d.SearchRadiiM {
		if r <= 0 || (i > 0 && r <= d.SearchRadiiM[i-1]) {
			return bad("dispatch.search_radii_m", "must be positive and increasing")
		}
	}
	if d.EscalationEvery <= 0 {
		return bad("dispatch.escalation_every", "must be positive")
	}
	if d.SweepEvery <= 0 {
		return bad("dispatch.sweep_every", "must be positive")
	}
	if d.QueueLengthsEvery < 0 || d.QueueLengthsEvery > time.Minute {
		return bad("dispatch.queue_lengths_every", "must be between 0 (read with every match) and 1m")
	}
	if d.SubmitBatchMax < 1 || d.SubmitBatchMax > 1000 {
		return bad("dispatch.submit_batch_max", "must be between 1 (no batching) and 1000")
	}
	if err := c.validateFeatures(); err != nil {
		return err
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "must be debug, info, warn or error")
	}
	return nil
}

// Redacted returns a copy safe to log: secrets replaced.
func (c Config) Redacted() Config {
	r := c
	if r.WeChat.AppSecret != "" {
		r.WeChat.AppSecret = "[redacted]"
	}
	if r.Security.PIIKey != "" {
		r.Security.PIIKey = "[redacted]"
	}
	if r.Redis.Password != "" {
		r.Redis.Password = "[redacted]"
	}
	r.MySQL.DSN = redactDSN(r.MySQL.DSN)
	return r
}

func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	colon := strings.Index(dsn, ":")
	if at < 0 || colon < 0 || colon > at {
		return dsn
	}
	return dsn[:colon+1] + "[redacted]" + dsn[at:]
}
