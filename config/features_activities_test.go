package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestActivitiesValidationNamesTheBadKey(t *testing.T) {
	dev := filepath.Join("..", "deploy", "config.dev.yaml")
	for env, key := range map[string]string{
		"JINDALAI_ACTIVITIES_CODE_GRACE=2m":             "activities.code_grace",
		"JINDALAI_ACTIVITIES_CHECKOUT_GRACE=-1s":        "activities.checkout_grace",
		"JINDALAI_ACTIVITIES_NEARBY_RADIUS_M=10":        "activities.nearby_radius_m",
		"JINDALAI_ACTIVITIES_MAX_CAPACITY=0":            "activities.max_capacity",
		"JINDALAI_ACTIVITIES_MAX_CREDITED_HOURS=0":      "activities.max_credited_hours",
		"JINDALAI_ACTIVITIES_MAX_DURATION=10m":          "activities.max_duration",
		"JINDALAI_ACTIVITIES_CHECKIN_PER_MINUTE_USER=0": "activities.checkin_per_minute_user",
	} {
		_, err := Load(dev, []string{env})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: got %v, want an error naming %s", env, err, key)
		}
	}
	cfg, err := Load(dev, []string{"JINDALAI_ACTIVITIES_CODE_GRACE=5s"})
	if err != nil || cfg.Activities.CodeGrace.Seconds() != 5 || cfg.Activities.MaxCapacity != 10000 {
		t.Fatalf("override: %+v (%v)", cfg.Activities, err)
	}
}
