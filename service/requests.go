package service

// Requests is the service for resident requests and their dispatch (issue 4).
// It is filled in by that issue.
type Requests struct{}
