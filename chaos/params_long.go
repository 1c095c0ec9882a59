//go:build chaos

package chaos

import "time"

// The long form, `make chaos` (-tags chaos): more users, longer traffic.
const (
	trafficWorkers = 32
	trafficBefore  = 5 * time.Second
	trafficAfter   = 3 * time.Second
	downFor        = 5 * time.Second
)
