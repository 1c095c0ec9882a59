package service

import "context"

// RefreshQueueLengths reads the view QueueLengthsLoop keeps, once.
func RefreshQueueLengths(ctx context.Context, s *Stations) error { return s.refreshQueueLengths(ctx) }
