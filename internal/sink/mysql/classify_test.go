package mysql

import (
	"errors"
	"fmt"
	"testing"

	mysqldriver "github.com/go-sql-driver/mysql"

	"github.com/accord-events/accord/internal/sink"
)

// A value a column cannot hold is permanent on MySQL as on MariaDB: the two
// servers give some of these errors different SQLSTATEs (MySQL raises 1366,
// "Incorrect integer value", as HY000 where MariaDB says 22007, and 1265,
// "Data truncated", as 01000), and a transient error for a poison row would
// hold the sink on that batch for ever. TestPoisonRow runs against MariaDB;
// this holds the MySQL codes.
func TestClassify(t *testing.T) {
	state := func(s string) [5]byte { var b [5]byte; copy(b[:], s); return b }
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
	}{
		{"MariaDB incorrect integer value", &mysqldriver.MySQLError{Number: 1366, SQLState: state("22007")}, true},
		{"MySQL incorrect integer value", &mysqldriver.MySQLError{Number: 1366, SQLState: state("HY000")}, true},
		{"MySQL data truncated", &mysqldriver.MySQLError{Number: 1265, SQLState: state("01000")}, true},
		{"MySQL incorrect value for a function", &mysqldriver.MySQLError{Number: 1411, SQLState: state("HY000")}, true},
		{"out of range", &mysqldriver.MySQLError{Number: 1264, SQLState: state("22003")}, true},
		{"column cannot be null", &mysqldriver.MySQLError{Number: 1048, SQLState: state("23000")}, true},
		{"lock wait timeout", &mysqldriver.MySQLError{Number: 1205, SQLState: state("HY000")}, false},
		{"deadlock", &mysqldriver.MySQLError{Number: 1213, SQLState: state("40001")}, false},
		{"server gone", mysqldriver.ErrInvalidConn, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var permanent *sink.PermanentError
			if got := errors.As(classify(fmt.Errorf("write: %w", tc.err)), &permanent); got != tc.permanent {
				t.Errorf("classify(%v) permanent = %v, want %v", tc.err, got, tc.permanent)
			}
		})
	}
}
