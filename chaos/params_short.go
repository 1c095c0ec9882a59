//go:build !chaos

package chaos

import "time"

// The short form, run by every `go test ./...` (and so `make test`): a few
// seconds of traffic per fault.
const (
	trafficWorkers = 8
	trafficBefore  = 1500 * time.Millisecond
	trafficAfter   = time.Second
	downFor        = 1500 * time.Millisecond
)
