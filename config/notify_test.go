package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDevConfigHasTemplates(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "deploy", "config.dev.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tpl, ok := cfg.WeChat.Templates["request_accepted"]
	if !ok || tpl.ID == "" || tpl.Fields["thing1"] != "title" {
		t.Fatalf("templates: %+v", cfg.WeChat.Templates)
	}
	if cfg.Notify.Lease != 2*time.Minute {
		t.Errorf("lease default %s", cfg.Notify.Lease)
	}
	if cfg.Notify.RetentionDays != 180 {
		t.Errorf("retention default %d days", cfg.Notify.RetentionDays)
	}
}

func TestNotifyValidationNamesTheBadKey(t *testing.T) {
	dev := filepath.Join("..", "deploy", "config.dev.yaml")
	cfg, err := Load(dev, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*Config){
		"notify.lease":          func(c *Config) { c.Notify.Lease = 15 * time.Second },
		"notify.retention_days": func(c *Config) { c.Notify.RetentionDays = 6 },
		"wechat.templates.request_accepted.fields.title1": func(c *Config) {
			c.WeChat.Templates = map[string]TemplateConfig{"request_accepted": {ID: "x", Fields: map[string]string{"title1": "title"}}}
		},
		"wechat.templates.request_accepted.fields.thing1": func(c *Config) {
			c.WeChat.Templates = map[string]TemplateConfig{"request_accepted": {ID: "x", Fields: map[string]string{"thing1": ""}}}
		},
		"wechat.templates.request_accepted.fields": func(c *Config) {
			c.WeChat.Templates = map[string]TemplateConfig{"request_accepted": {ID: "x"}}
		},
	}
	for key, tweak := range cases {
		c := cfg
		tweak(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("got %v, want an error naming %s", err, key)
		}
	}
}

func TestNotifyRetentionFromEnvironment(t *testing.T) {
	dev := filepath.Join("..", "deploy", "config.dev.yaml")
	if _, err := Load(dev, []string{"JINDALAI_NOTIFY_RETENTION_DAYS=6"}); err == nil || !strings.Contains(err.Error(), "notify.retention_days") {
		t.Fatalf("6 days: got %v, want an error naming notify.retention_days", err)
	}
	cfg, err := Load(dev, []string{"JINDALAI_NOTIFY_RETENTION_DAYS=7"})
	if err != nil || cfg.Notify.RetentionDays != 7 {
		t.Fatalf("7 days: %d (%v)", cfg.Notify.RetentionDays, err)
	}
}
