package store

// OpenRequestIDsSQL is the query of the open requests' ids.
const OpenRequestIDsSQL = openRequestIDsSQL
