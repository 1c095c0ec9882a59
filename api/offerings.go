package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"jindalai/model"
	"jindalai/service"
)

// offeringsRoutes registers the staff routes of offerings, slots, closed
// days and a station's bookings, under /admin (staff roles only; the
// service checks the station scope).
func (s *Server) offeringsRoutes(admin *gin.RouterGroup) {
	admin.POST("/services", s.createOffering)
	admin.PATCH("/services/:id", s.updateOffering)
	admin.POST("/services/:id/slots", s.createSlot)
	admin.POST("/services/:id/slots/pattern", s.createSlotPattern)
	admin.DELETE("/slots/:id", s.deleteSlot)
	admin.POST("/slots/:id/cancel", s.cancelSlot)
	admin.POST("/stations/:id/closed-dates", s.addClosedDate)
	admin.GET("/stations/:id/closed-dates", s.listClosedDates)
	admin.DELETE("/stations/:id/closed-dates/:date", s.deleteClosedDate)
	admin.GET("/stations/:id/bookings", s.stationBookings)
}

type offeringBody struct {
	StationID   int64  `json:"station_id"`
	Name        string `json:"name"`
	Category    string `json:"category"`
	Description string `json:"description"`
	DurationMin int    `json:"duration_min"`
}

func (s *Server) createOffering(c *gin.Context) {
	var in offeringBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "services.create", in)
	if !ok {
		return
	}
	out, err := s.Bookings.CreateOffering(c.Request.Context(), p, idem, service.OfferingInput{
		StationID: in.StationID, Name: in.Name, Category: in.Category, Description: in.Description, DurationMin: in.DurationMin})
	s.respond(c, http.StatusCreated, out, err)
}

type offeringPatchBody struct {
	Name        *string `json:"name"`
	Category    *string `json:"category"`
	Description *string `json:"description"`
	DurationMin *int    `json:"duration_min"`
	Active      *bool   `json:"active"`
}

func (s *Server) updateOffering(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in offeringPatchBody
	if !s.bindJSON(c, &in) {
		return
	}
	out, err := s.Bookings.UpdateOffering(c.Request.Context(), principal(c), id, model.OfferingPatch{
		Name: in.Name, Category: in.Category, Description: in.Description, DurationMin: in.DurationMin, Active: in.Active})
	s.respond(c, http.StatusOK, out, err)
}

type slotBody struct {
	StartsAt string `json:"starts_at"`
	EndsAt   string `json:"ends_at"`
	Capacity int    `json:"capacity"`
}

func (s *Server) createSlot(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in slotBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "slots.create:"+c.Param("id"), in)
	if !ok {
		return
	}
	out, err := s.Bookings.CreateSlot(c.Request.Context(), p, idem, id, service.SlotInput{StartsAt: in.StartsAt, EndsAt: in.EndsAt, Capacity: in.Capacity})
	s.respond(c, http.StatusCreated, out, err)
}

type timeRangeBody struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type patternBody struct {
	From      string          `json:"from"`
	To        string          `json:"to"`
	Weekdays  []int           `json:"weekdays"`
	Times     []timeRangeBody `json:"times"`
	Capacity  int             `json:"capacity"`
	SkipDates []string        `json:"skip_dates"`
}

func (s *Server) createSlotPattern(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in patternBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "slots.pattern:"+c.Param("id"), in)
	if !ok {
		return
	}
	pattern := service.SlotPattern{From: in.From, To: in.To, Weekdays: in.Weekdays, Capacity: in.Capacity, SkipDates: in.SkipDates}
	for _, t := range in.Times {
		pattern.Times = append(pattern.Times, service.TimeRange{Start: t.Start, End: t.End})
	}
	out, err := s.Bookings.CreateSlotPattern(c.Request.Context(), p, idem, id, pattern)
	s.respond(c, http.StatusCreated, out, err)
}

func (s *Server) deleteSlot(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	if err := s.Bookings.DeleteSlot(c.Request.Context(), principal(c), id); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) cancelSlot(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in reasonBody
	if !s.bindOptionalJSON(c, &in) {
		return
	}
	out, err := s.Bookings.CancelSlot(c.Request.Context(), principal(c), id, in.Reason)
	s.respond(c, http.StatusOK, out, err)
}

type closedDateBody struct {
	Date   string `json:"date"`
	Reason string `json:"reason"`
}

func (s *Server) addClosedDate(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in closedDateBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "closed_dates.create:"+c.Param("id"), in)
	if !ok {
		return
	}
	out, err := s.Bookings.AddClosedDate(c.Request.Context(), p, idem, id, in.Date, in.Reason)
	s.respond(c, http.StatusCreated, out, err)
}

func (s *Server) listClosedDates(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	items, err := s.Bookings.ClosedDates(c.Request.Context(), principal(c), id, c.Query("from"), c.Query("to"))
	s.respond(c, http.StatusOK, model.List[model.ClosedDate]{Items: items}, err)
}

func (s *Server) deleteClosedDate(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	if err := s.Bookings.DeleteClosedDate(c.Request.Context(), principal(c), id, c.Param("date")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) stationBookings(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Bookings.StationBookings(c.Request.Context(), principal(c), id, c.Query("date"), page)
	s.respond(c, http.StatusOK, out, err)
}
