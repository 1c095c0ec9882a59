package model

// Notification is a message to one user: always an in-app message, and also a
// WeChat subscribe message when the user holds a grant for the template of
// its Kind. It is inserted by the transaction that makes the change it
// reports (the outbox), so nothing is sent for a change that rolled back.
type Notification struct {
	UserID int64
	// Kind names the event, e.g. "request_accepted"; config maps it to a
	// subscribe-message template.
	Kind string
	// Title and Body are the in-app text (Chinese).
	Title string
	Body  string
	// Data holds the values that template fields are filled from, by name
	// (e.g. "title", "status", "time", "station", "note").
	Data map[string]string
	// Page is the mini-program page the message opens, e.g. "pages/request/detail?id=42".
	Page string
	// RefType and RefID name the object the message is about.
	RefType string
	RefID   int64
}
