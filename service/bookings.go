package service

// Bookings is the service for station service offerings, slots and bookings (issue 6).
// It is filled in by that issue.
type Bookings struct{}
