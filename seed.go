package main

import (
	"context"
	"log/slog"

	"jindalai/config"
	"jindalai/store"
)

// seed loads the demo city. It is idempotent: running it twice changes nothing.
func seed(ctx context.Context, st *store.Store, cfg config.Config, log *slog.Logger) error {
	if err := seedCity(ctx, st, cfg, log); err != nil {
		return err
	}
	return seedBookings(ctx, st, cfg, log)
}
