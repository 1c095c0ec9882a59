package model

import "time"

// RequestStatRow is what the statistics read of one request: where it is,
// its state, and from its events when it was first accepted and whether it
// was resolved.
type RequestStatRow struct {
	Station     StationRef
	Status      RequestStatus
	Category    string
	Urgency     Urgency
	CreatedAt   time.Time
	Rating      *int
	FirstAccept *time.Time
	Resolved    bool
}

// RequestCounts is the requests part of the statistics (API.md "Statistics").
type RequestCounts struct {
	Total      int            `json:"total"`
	ByStatus   map[string]int `json:"by_status"`
	ByCategory map[string]int `json:"by_category"`
	// AcceptedWithinSLAPct: of the requests accepted, the share first
	// accepted within the accept-by allowance of their urgency.
	AcceptedWithinSLAPct *float64 `json:"accepted_within_sla_pct"`
	// MedianAcceptMinutes: the median time from submission to first acceptance.
	MedianAcceptMinutes *float64 `json:"median_accept_minutes"`
}

// StationStats is one station's line of the statistics.
type StationStats struct {
	Station              StationRef `json:"station"`
	Total                int        `json:"total"`
	Accepted             int        `json:"accepted"`
	Resolved             int        `json:"resolved"`
	AcceptedWithinSLAPct *float64   `json:"accepted_within_sla_pct"`
	MedianAcceptMinutes  *float64   `json:"median_accept_minutes"`
	SatisfactionAvg      *float64   `json:"satisfaction_avg"`
}

// Stats is the reply of GET /admin/stats: requests created in [From, To)
// held by the stations in scope, and the bookings and activities of the
// same window and scope (see ServiceStats).
type Stats struct {
	From      time.Time     `json:"from"`
	To        time.Time     `json:"to"`
	StationID *int64        `json:"station_id"`
	Requests  RequestCounts `json:"requests"`
	// ServicePersonTimes counts the services delivered (服务人次): requests resolved.
	ServicePersonTimes int `json:"service_person_times"`
	ServiceStats
	SatisfactionAvg *float64       `json:"satisfaction_avg"`
	ByStation       []StationStats `json:"by_station"`
}

// ServiceStats is the bookings and activities part of the statistics.
type ServiceStats struct {
	// Bookings counts the bookings of the stations' services, not
	// cancelled (booked, attended or no-show), whose slot starts in the window.
	Bookings int `json:"bookings"`
	// Activities counts the activities, not cancelled, starting in the
	// window, organized by a station in scope; city-wide also the
	// organizations' (an organization has no place in the station tree).
	Activities int `json:"activities"`
	// VolunteerMinutes sums the minutes credited to volunteers for those
	// activities (the hours ledger).
	VolunteerMinutes int `json:"volunteer_minutes"`
}
