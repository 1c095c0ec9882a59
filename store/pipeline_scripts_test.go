package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/store"
	"jindalai/store/storetest"
)

// TestPipelineScriptsWithoutCache: a script Redis has never loaded (as
// after a restart emptied its cache) fails its EVALSHA with NOSCRIPT, and
// the pipeline is sent again with the script itself: every call answers.
func TestPipelineScriptsWithoutCache(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	// A source no one has loaded: its own hash.
	script := redis.NewScript(`-- ` + strconv.FormatInt(time.Now().UnixNano(), 10) + "\nreturn ARGV[1]")
	if exists, err := script.Exists(ctx, st.Redis).Result(); err != nil || exists[0] {
		t.Fatalf("script cached before the test: %v %v", exists, err)
	}
	var cmds []*redis.Cmd
	err := store.PipelineScripts(ctx, st, func(eval func(*redis.Script, []string, ...any) *redis.Cmd) {
		cmds = []*redis.Cmd{eval(script, []string{st.Keys.Prefix() + "x"}, "a"), eval(script, []string{st.Keys.Prefix() + "y"}, "b")}
	})
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	for i, want := range []string{"a", "b"} {
		if got, err := cmds[i].Text(); err != nil || got != want {
			t.Fatalf("call %d: %q %v, want %q", i, got, err, want)
		}
	}
}
