package api

import "github.com/gin-gonic/gin"

// bookingsRoutes registers the routes of station service offerings, slots and bookings (issue 6).
func (s *Server) bookingsRoutes(v1 *gin.RouterGroup) {}
