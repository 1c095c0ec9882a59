package config

import (
	"path/filepath"
	"testing"
)

// The activities keys' validation is in TestEveryCheckNamesItsKey.
func TestActivitiesOverride(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "deploy", "config.dev.yaml"), []string{"JINDALAI_ACTIVITIES_CODE_GRACE=5s"})
	if err != nil || cfg.Activities.CodeGrace.Seconds() != 5 || cfg.Activities.MaxCapacity != 10000 {
		t.Fatalf("override: %+v (%v)", cfg.Activities, err)
	}
}
