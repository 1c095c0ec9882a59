package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// PipelineScripts runs pipelineScripts on the store's Redis, fill adding
// only script calls.
func PipelineScripts(ctx context.Context, s *Store, fill func(eval func(script *redis.Script, keys []string, args ...any) *redis.Cmd)) error {
	return pipelineScripts(ctx, s.Redis, func(_ redis.Pipeliner, eval scriptCall) { fill(eval) })
}
