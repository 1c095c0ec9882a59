package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"jindalai/model"
	"jindalai/service"
)

// activitiesRoutes registers the routes of volunteers, activities, claims, check-in and hours (issue 5).
func (s *Server) activitiesRoutes(v1 *gin.RouterGroup) {
	authed := v1.Group("", s.authenticate)
	organizer := s.requireRole(model.RoleSocialWorker, model.RoleStationAdmin, model.RoleOrgAdmin)
	volunteer := s.requireRole(model.RoleVolunteer)

	authed.POST("/volunteers", s.registerVolunteer)
	authed.GET("/volunteers/me", s.myVolunteer)
	authed.PATCH("/volunteers/me", s.updateMyVolunteer)
	authed.GET("/organizations/:id/members", s.requireRole(model.RoleOrgAdmin), s.orgMembers)
	authed.GET("/organizations/:id/hours", s.requireRole(model.RoleOrgAdmin), s.orgHours)
	authed.GET("/me/hours", s.myHours)
	authed.GET("/me/claims", s.myClaims)

	authed.GET("/activities", s.listActivities)
	authed.POST("/activities", organizer, s.createActivity)
	authed.GET("/activities/:id", s.getActivity)
	authed.PATCH("/activities/:id", organizer, s.updateActivity)
	authed.POST("/activities/:id/cancel", organizer, s.cancelActivity)
	authed.GET("/activities/:id/checkin-code", organizer, s.checkinCode)
	authed.GET("/activities/:id/claims", organizer, s.activityClaims)
	authed.PUT("/activities/:id/claims/:claim_id/minutes", organizer, s.setCreditedMinutes)
	authed.POST("/activities/:id/claims", volunteer, s.claimActivity)
	authed.POST("/activities/:id/claims/cancel", s.cancelClaim)
	authed.POST("/activities/:id/checkin", volunteer, s.checkin)
	authed.POST("/activities/:id/checkout", volunteer, s.checkout)
}

type activityBody struct {
	Title          string  `json:"title"`
	Description    string  `json:"description"`
	Category       string  `json:"category"`
	StationID      int64   `json:"station_id"`
	OrgID          int64   `json:"org_id"`
	Lat            float64 `json:"lat"`
	Lng            float64 `json:"lng"`
	Address        string  `json:"address"`
	StartsAt       string  `json:"starts_at"`
	EndsAt         string  `json:"ends_at"`
	SignupDeadline string  `json:"signup_deadline"`
	Capacity       int     `json:"capacity"`
	CreditedHours  float64 `json:"credited_hours"`
	Waitlist       bool    `json:"waitlist"`
}

func (s *Server) createActivity(c *gin.Context) {
	var in activityBody
	if !s.bindJSON(c, &in) {
		return
	}
	fe := model.FieldErrors{}
	a := service.ActivityInput{
		Title: in.Title, Description: in.Description, Category: in.Category, StationID: in.StationID, OrgID: in.OrgID,
		Lat: in.Lat, Lng: in.Lng, Address: in.Address, Capacity: in.Capacity, CreditedHours: in.CreditedHours, Waitlist: in.Waitlist,
		StartsAt: parseTime(fe, "starts_at", in.StartsAt, true), EndsAt: parseTime(fe, "ends_at", in.EndsAt, true),
		SignupDeadline: parseTime(fe, "signup_deadline", in.SignupDeadline, false),
	}
	if err := fe.Err(); err != nil {
		s.fail(c, err)
		return
	}
	p, idem, ok := s.callerKey(c, "activities.create", in)
	if !ok {
		return
	}
	out, err := s.Activities.CreateActivity(c.Request.Context(), p, idem, a)
	s.respond(c, http.StatusCreated, out, err)
}

type activityPatchBody struct {
	Title          *string  `json:"title"`
	Description    *string  `json:"description"`
	Category       *string  `json:"category"`
	Lat            *float64 `json:"lat"`
	Lng            *float64 `json:"lng"`
	Address        *string  `json:"address"`
	StartsAt       *string  `json:"starts_at"`
	EndsAt         *string  `json:"ends_at"`
	SignupDeadline *string  `json:"signup_deadline"`
	Capacity       *int     `json:"capacity"`
	CreditedHours  *float64 `json:"credited_hours"`
	Waitlist       *bool    `json:"waitlist"`
}

func (s *Server) updateActivity(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in activityPatchBody
	if !s.bindJSON(c, &in) {
		return
	}
	fe := model.FieldErrors{}
	patch := service.ActivityPatch{
		Title: in.Title, Description: in.Description, Category: in.Category, Address: in.Address,
		Lat: in.Lat, Lng: in.Lng, Capacity: in.Capacity, CreditedHours: in.CreditedHours, Waitlist: in.Waitlist,
		StartsAt: parseTimePtr(fe, "starts_at", in.StartsAt), EndsAt: parseTimePtr(fe, "ends_at", in.EndsAt),
		SignupDeadline: parseTimePtr(fe, "signup_deadline", in.SignupDeadline),
	}
	if err := fe.Err(); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Activities.UpdateActivity(c.Request.Context(), principal(c), id, patch)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) cancelActivity(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in reasonBody
	if !s.bindJSON(c, &in) {
		return
	}
	out, err := s.Activities.CancelActivity(c.Request.Context(), principal(c), id, in.Reason)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) listActivities(c *gin.Context) {
	near, radius, err := nearQuery(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	q := service.ActivityQuery{Near: near, Category: c.Query("category"), RadiusM: radius, Page: page}
	fe := model.FieldErrors{}
	q.From = parseTime(fe, "from", c.Query("from"), false)
	if err := fe.Err(); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Activities.ListActivities(c.Request.Context(), q)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) getActivity(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	out, err := s.Activities.GetActivity(c.Request.Context(), principal(c), id)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) claimActivity(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	p, idem, ok := s.callerKey(c, "activities.claim", id)
	if !ok {
		return
	}
	out, err := s.Activities.Claim(c.Request.Context(), p, idem, id)
	s.respond(c, http.StatusCreated, out, err)
}

func (s *Server) cancelClaim(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	out, err := s.Activities.CancelClaim(c.Request.Context(), principal(c), id)
	s.respond(c, http.StatusOK, out, err)
}

type checkinBody struct {
	Lat  *float64 `json:"lat"`
	Lng  *float64 `json:"lng"`
	Code string   `json:"code"`
}

func (s *Server) checkin(c *gin.Context)  { s.onSite(c, s.Activities.CheckIn) }
func (s *Server) checkout(c *gin.Context) { s.onSite(c, s.Activities.CheckOut) }

func (s *Server) onSite(c *gin.Context, call func(ctx context.Context, p model.Principal, id int64, proof service.CheckinProof) (model.Claim, error)) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in checkinBody
	if !s.bindJSON(c, &in) {
		return
	}
	out, err := call(c.Request.Context(), principal(c), id, service.CheckinProof{Lat: in.Lat, Lng: in.Lng, Code: in.Code})
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) checkinCode(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	out, err := s.Activities.CheckinCode(c.Request.Context(), principal(c), id)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) activityClaims(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Activities.ListActivityClaims(c.Request.Context(), principal(c), id, page)
	s.respond(c, http.StatusOK, out, err)
}

type minutesBody struct {
	Minutes *int   `json:"minutes"`
	Reason  string `json:"reason"`
}

func (s *Server) setCreditedMinutes(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	claimID, ok := s.pathID(c, "claim_id")
	if !ok {
		return
	}
	var in minutesBody
	if !s.bindJSON(c, &in) {
		return
	}
	if in.Minutes == nil {
		s.fail(c, model.InvalidField("minutes", "必填"))
		return
	}
	out, err := s.Activities.SetCreditedMinutes(c.Request.Context(), principal(c), id, claimID, *in.Minutes, in.Reason)
	s.respond(c, http.StatusOK, out, err)
}

// parseTime reads an RFC 3339 time with offset in the years
// model.CheckTime accepts; "" is the zero time, an error when required.
func parseTime(fe model.FieldErrors, field, raw string, required bool) time.Time {
	if raw == "" {
		if required {
			fe.Add(field, "必填")
		}
		return time.Time{}
	}
	t, err := model.ParseTime(field, raw)
	fe.Merge(err)
	return t
}

func parseTimePtr(fe model.FieldErrors, field string, raw *string) *time.Time {
	if raw == nil {
		return nil
	}
	t := parseTime(fe, field, *raw, true)
	return &t
}
