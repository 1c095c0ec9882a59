package store

import (
	"context"

	"jindalai/model"
)

// ReplayIdempotent reads the stored reply of idem as InIdempotentTx does
// after its key insert found a duplicate.
func ReplayIdempotent(ctx context.Context, s *Store, idem *model.Idempotency) (map[string]any, error) {
	return replayIdempotent[map[string]any](ctx, s, idem)
}
