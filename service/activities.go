package service

// Activities is the service for volunteers, activities, claims, check-in and hours (issue 5).
// It is filled in by that issue.
type Activities struct{}
