package service

// Notifications is the service for the outbox sender, subscribe grants and the inbox (issue 7).
// It is filled in by that issue.
type Notifications struct{}
