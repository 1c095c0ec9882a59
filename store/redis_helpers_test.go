package store_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"jindalai/store"
)

func redisZ(score float64, member string) redis.Z { return redis.Z{Score: score, Member: member} }

// zscores reads a sorted set whole: member → score.
func zscores(t *testing.T, st *store.Store, key string) map[string]float64 {
	t.Helper()
	zs, err := st.Redis.ZRangeWithScores(context.Background(), key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, z := range zs {
		out[z.Member.(string)] = z.Score
	}
	return out
}
