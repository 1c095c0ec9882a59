package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
)

// match is a resident's "which stations serve this near me": GET
// /api/v1/stations around a random point of the city for a random
// category, nearest 5 first (a GEO search widened until 5 serve it).
func match(ctx context.Context, b *bench) (op, plan, error) {
	rng := rand.New(rand.NewPCG(3, 4))
	paths := make([]string, 8192)
	for i := range paths {
		lat, lng := around(rng, 15)
		paths[i] = fmt.Sprintf("/api/v1/stations?lat=%.6f&lng=%.6f&category=%s&limit=5", lat, lng,
			benchCategories[rng.IntN(len(benchCategories))][0])
	}
	p := b.plan()
	return func(ctx context.Context, w, i int) error {
		_, err := b.http.expect(ctx, call{method: "GET", path: paths[(i*p.Concurrency+w)%len(paths)]}, http.StatusOK)
		return err
	}, p, nil
}
