package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// scriptCall adds a call of a script to a pipeline.
type scriptCall func(script *redis.Script, keys []string, args ...any) *redis.Cmd

// pipelineScripts runs the commands fill adds in one pipelined round trip,
// the scripts among them by EVALSHA; when Redis lost its script cache (a
// restart: NOSCRIPT), it runs all of fill's commands again, sending the
// scripts themselves, so fill's commands — the script calls that succeeded
// the first time included — must bear being run twice. Errors: the
// pipeline's, untranslated.
func pipelineScripts(ctx context.Context, rdb *redis.Client, fill func(pipe redis.Pipeliner, eval scriptCall)) error {
	run := func(byHash bool) error {
		_, err := rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			fill(pipe, func(script *redis.Script, keys []string, args ...any) *redis.Cmd {
				if byHash {
					return script.EvalSha(ctx, pipe, keys, args...)
				}
				return script.Eval(ctx, pipe, keys, args...)
			})
			return nil
		})
		return err
	}
	err := run(true)
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		err = run(false)
	}
	return err
}
