package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"jindalai/model"
)

// bookingsRoutes registers the routes of station service offerings, slots
// and bookings (API.md "Bookings"); the staff routes are in offerings.go.
func (s *Server) bookingsRoutes(v1 *gin.RouterGroup) {
	authed := v1.Group("", s.authenticate)
	authed.GET("/services", s.listOfferings)
	authed.GET("/services/:id/slots", s.listSlots)
	authed.POST("/bookings", s.book)
	authed.GET("/bookings", s.myBookings)
	authed.GET("/bookings/:id", s.getBooking)
	authed.POST("/bookings/:id/cancel", s.cancelBooking)
	staff := s.requireRole(model.RoleSocialWorker, model.RoleStationAdmin)
	authed.POST("/bookings/:id/attend", staff, s.markBooking(model.BookingAttended))
	authed.POST("/bookings/:id/no-show", staff, s.markBooking(model.BookingNoShow))
	s.offeringsRoutes(authed.Group("/admin", staff))
}

type bookBody struct {
	SlotID int64  `json:"slot_id"`
	Note   string `json:"note"`
}

func (s *Server) book(c *gin.Context) {
	var in bookBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "bookings.create", in)
	if !ok {
		return
	}
	out, err := s.Bookings.Book(c.Request.Context(), p, idem, in.SlotID, in.Note)
	s.respond(c, http.StatusCreated, out, err)
}

func (s *Server) myBookings(c *gin.Context) {
	if mine := c.Query("mine"); mine != "" && mine != "true" {
		s.fail(c, model.InvalidField("mine", "只支持 mine=true；站点的预约见 /admin/stations/{id}/bookings"))
		return
	}
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Bookings.MyBookings(c.Request.Context(), principal(c), model.BookingStatus(c.Query("status")), page)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) getBooking(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	out, err := s.Bookings.GetBooking(c.Request.Context(), principal(c), id)
	s.respond(c, http.StatusOK, out, err)
}

type reasonBody struct {
	Reason string `json:"reason"`
}

func (s *Server) cancelBooking(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in reasonBody
	if !s.bindOptionalJSON(c, &in) {
		return
	}
	out, err := s.Bookings.CancelBooking(c.Request.Context(), principal(c), id, in.Reason)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) markBooking(status model.BookingStatus) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := s.pathID(c, "id")
		if !ok {
			return
		}
		out, err := s.Bookings.MarkBooking(c.Request.Context(), principal(c), id, status)
		s.respond(c, http.StatusOK, out, err)
	}
}

func (s *Server) listOfferings(c *gin.Context) {
	stationID, _, err := queryInt(c, "station_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	inactive, err := queryBool(c, "include_inactive")
	if err != nil {
		s.fail(c, err)
		return
	}
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Bookings.ListOfferings(c.Request.Context(), principal(c), stationID, inactive, page)
	s.respond(c, http.StatusOK, out, err)
}

// queryBool reads an optional true/false query parameter.
func queryBool(c *gin.Context, name string) (bool, error) {
	switch c.Query(name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, model.InvalidField(name, "必须是 true 或 false")
}

func (s *Server) listSlots(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Bookings.ListSlots(c.Request.Context(), id, c.Query("from"), c.Query("to"), page)
	s.respond(c, http.StatusOK, out, err)
}
