package config

import (
	"fmt"
	"regexp"
	"time"
)

// ActivitiesConfig holds the volunteer activity rules.
type ActivitiesConfig struct {
	// CheckinRadiusM is how far from the activity a location check-in may be.
	CheckinRadiusM int `yaml:"checkin_radius_m"`
	// CheckinOpensBefore is how long before the start check-in opens.
	CheckinOpensBefore time.Duration `yaml:"checkin_opens_before"`
	// CodeRotation is how often the organizer's check-in code changes.
	CodeRotation time.Duration `yaml:"code_rotation"`
	// CodeGrace is how long a replaced check-in code is still accepted.
	CodeGrace time.Duration `yaml:"code_grace"`
	// CheckoutGrace is how long after the end check-out is still possible.
	CheckoutGrace time.Duration `yaml:"checkout_grace"`
	// NearbyRadiusM is the default radius of the list near a location.
	NearbyRadiusM int `yaml:"nearby_radius_m"`
	// MaxCapacity caps an activity's places.
	MaxCapacity int `yaml:"max_capacity"`
	// MaxCreditedHours caps the hours an activity credits.
	MaxCreditedHours int `yaml:"max_credited_hours"`
	// MaxDuration caps the time between an activity's start and end.
	MaxDuration time.Duration `yaml:"max_duration"`
	// CheckinPerMinuteUser limits check-in and check-out attempts (code guessing).
	CheckinPerMinuteUser int `yaml:"checkin_per_minute_user"`
}

// BookingsConfig holds the station service booking rules.
type BookingsConfig struct {
	// CloseBefore: bookings close this long before a slot starts.
	CloseBefore time.Duration `yaml:"close_before"`
	// CancelBefore: a booking can be cancelled until this long before the start.
	CancelBefore time.Duration `yaml:"cancel_before"`
	// RemindBefore: the reminder is sent this long before the slot.
	RemindBefore time.Duration `yaml:"remind_before"`
	// NoShowLimit no-shows within NoShowWindow block new bookings (0: never).
	NoShowLimit  int           `yaml:"no_show_limit"`
	NoShowWindow time.Duration `yaml:"no_show_window"`
	// ReminderEvery is how often the reminder loop looks for due reminders.
	ReminderEvery time.Duration `yaml:"reminder_every"`
}

// NotifyConfig holds the outbox sender's rules.
type NotifyConfig struct {
	// Every is how often the sender looks for due messages.
	Every time.Duration `yaml:"every"`
	// MaxAttempts failed sends make a message dead (dead-lettered).
	MaxAttempts int `yaml:"max_attempts"`
	// BaseBackoff doubles after every failed attempt, up to MaxBackoff.
	BaseBackoff time.Duration `yaml:"base_backoff"`
	MaxBackoff  time.Duration `yaml:"max_backoff"`
	BatchSize   int           `yaml:"batch_size"`
	// Lease is how long a sender owns the messages it claimed; a replica that
	// dies mid-batch leaves them to be claimed again after it.
	Lease time.Duration `yaml:"lease"`
	// RetentionDays: notifications whose delivery finished (sent, skipped,
	// dead) are deleted this many days after they were created, from the
	// outbox and from the user's messages alike.
	RetentionDays int `yaml:"retention_days"`
}

func defaultActivities() ActivitiesConfig {
	return ActivitiesConfig{CheckinRadiusM: 500, CheckinOpensBefore: 30 * time.Minute, CodeRotation: time.Minute,
		CodeGrace: 10 * time.Second, CheckoutGrace: 2 * time.Hour, NearbyRadiusM: 20000, MaxCapacity: 10000,
		MaxCreditedHours: 24, MaxDuration: 72 * time.Hour, CheckinPerMinuteUser: 10}
}

func defaultBookings() BookingsConfig {
	return BookingsConfig{CloseBefore: time.Hour, CancelBefore: 2 * time.Hour, RemindBefore: 24 * time.Hour,
		NoShowLimit: 3, NoShowWindow: 90 * 24 * time.Hour, ReminderEvery: 5 * time.Second}
}

func defaultNotify() NotifyConfig {
	return NotifyConfig{Every: time.Second, MaxAttempts: 8, BaseBackoff: 2 * time.Second, MaxBackoff: 10 * time.Minute, BatchSize: 50,
		Lease: 2 * time.Minute, RetentionDays: 180}
}

// validateFeatures checks the feature sections; it names the first bad key.
func (c Config) validateFeatures() error {
	bad := func(key, problem string) error { return fmt.Errorf("config: %s: %s", key, problem) }
	if c.Activities.CheckinRadiusM < 10 {
		return bad("activities.checkin_radius_m", "must be at least 10")
	}
	if c.Activities.CheckinOpensBefore < 0 {
		return bad("activities.checkin_opens_before", "must not be negative")
	}
	if c.Activities.CodeRotation < 10*time.Second {
		return bad("activities.code_rotation", "must be at least 10s")
	}
	if c.Activities.CodeGrace < 0 || c.Activities.CodeGrace >= c.Activities.CodeRotation {
		return bad("activities.code_grace", "must be at least 0 and shorter than activities.code_rotation")
	}
	if c.Activities.CheckoutGrace < 0 {
		return bad("activities.checkout_grace", "must not be negative")
	}
	if c.Activities.NearbyRadiusM < 100 || c.Activities.NearbyRadiusM > 100000 {
		return bad("activities.nearby_radius_m", "must be 100–100000")
	}
	if c.Activities.MaxCapacity < 1 {
		return bad("activities.max_capacity", "must be at least 1")
	}
	if c.Activities.MaxCreditedHours < 1 {
		return bad("activities.max_credited_hours", "must be at least 1")
	}
	if c.Activities.MaxDuration < time.Hour {
		return bad("activities.max_duration", "must be at least 1h")
	}
	if c.Activities.CheckinPerMinuteUser < 1 {
		return bad("activities.checkin_per_minute_user", "must be at least 1")
	}
	if c.Bookings.CloseBefore < 0 {
		return bad("bookings.close_before", "must not be negative")
	}
	if c.Bookings.CancelBefore < 0 {
		return bad("bookings.cancel_before", "must not be negative")
	}
	if c.Bookings.RemindBefore < 0 {
		return bad("bookings.remind_before", "must not be negative")
	}
	if c.Bookings.NoShowLimit < 0 {
		return bad("bookings.no_show_limit", "must not be negative")
	}
	if c.Bookings.NoShowLimit > 0 && c.Bookings.NoShowWindow <= 0 {
		return bad("bookings.no_show_window", "must be positive when no_show_limit is set")
	}
	if c.Bookings.ReminderEvery < 100*time.Millisecond {
		return bad("bookings.reminder_every", "must be at least 100ms")
	}
	if c.Notify.Every <= 0 {
		return bad("notify.every", "must be positive")
	}
	if c.Notify.MaxAttempts < 1 {
		return bad("notify.max_attempts", "must be at least 1")
	}
	if c.Notify.BaseBackoff <= 0 {
		return bad("notify.base_backoff", "must be positive")
	}
	if c.Notify.MaxBackoff < c.Notify.BaseBackoff {
		return bad("notify.max_backoff", "must be at least notify.base_backoff")
	}
	if c.Notify.BatchSize < 1 {
		return bad("notify.batch_size", "must be at least 1")
	}
	if c.Notify.Lease < 4*c.WeChat.HTTPTimeout+10*time.Second {
		return bad("notify.lease", "must be at least 4 × wechat.http_timeout + 10s")
	}
	if c.Notify.RetentionDays < 7 {
		return bad("notify.retention_days", "must be at least 7")
	}
	return validateTemplates(c.WeChat.Templates)
}

// templateKeyword is a subscribe-message template keyword: a WeChat value
// type followed by its number (thing1, time3, character_string12).
var templateKeyword = regexp.MustCompile(`^(thing|number|letter|symbol|character_string|time|date|amount|phone_number|car_number|name|phrase|enum)[0-9]+$`)

// validateTemplates checks each template's keywords and data keys.
func validateTemplates(templates map[string]TemplateConfig) error {
	for kind, t := range templates {
		key := "wechat.templates." + kind
		if len(t.Fields) == 0 {
			return fmt.Errorf("config: %s.fields: at least one keyword is required", key)
		}
		for keyword, dataKey := range t.Fields {
			if !templateKeyword.MatchString(keyword) {
				return fmt.Errorf("config: %s.fields.%s: not a WeChat keyword (thing1, time2, phrase3, ...)", key, keyword)
			}
			if dataKey == "" {
				return fmt.Errorf("config: %s.fields.%s: names no data key", key, keyword)
			}
		}
		if len(t.Page) > 256 {
			return fmt.Errorf("config: %s.page: longer than 256 bytes", key)
		}
	}
	return nil
}
