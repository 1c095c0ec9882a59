package service

// Stations is the service for the station tree, organizations, the service catalogue and matching (issue 3).
// It is filled in by that issue.
type Stations struct{}
