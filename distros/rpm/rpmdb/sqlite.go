package rpmdb

import (
	"context"
	"database/sql"
	"fmt"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go: the frontend binary stays static
)

// sqliteHeaderLen is where an sqlite file says its journal mode: bytes 18
// and 19 are 2 in WAL mode, 1 in rollback-journal mode.
const sqliteHeaderLen = 100

// ReadSQLite reads the headers of an rpmdb.sqlite (rpm ≥ 4.16: Fedora 33+,
// RHEL 9, Amazon Linux 2023, Azure Linux 3), table Packages(hnum, blob),
// in header-number order. It reads the main database file alone: rpm
// checkpoints its WAL when it closes the database, so the file of an
// image built by a package manager that exited holds every package.
func ReadSQLite(data []byte) ([]Header, error) {
	if len(data) < sqliteHeaderLen || string(data[:16]) != "SQLite format 3\x00" {
		return nil, fmt.Errorf("not an sqlite database (no \"SQLite format 3\" header)")
	}
	// The database is deserialized into memory: nothing is written, and
	// sqlite opens no file. An in-memory database cannot be in WAL mode
	// (sqlite refuses one whose header says WAL: "unable to open database
	// file"), so the copy says rollback journal; the main file's pages are
	// the same either way.
	buf := make([]byte, len(data))
	copy(buf, data)
	if buf[18] == 2 && buf[19] == 2 {
		buf[18], buf[19] = 1, 1
	}

	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // one connection: each new one would be another empty :memory: database
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.Raw(func(c any) error {
		d, ok := c.(interface{ Deserialize([]byte) error })
		if !ok {
			return fmt.Errorf("the sqlite driver cannot load a database from memory")
		}
		return d.Deserialize(buf)
	}); err != nil {
		return nil, fmt.Errorf("loading the rpm sqlite database: %w", err)
	}
	// The file is the image's: no writes, no schema-defined functions,
	// and sqlite checks each cell's size as it reads it.
	for _, p := range []string{"PRAGMA query_only = ON", "PRAGMA trusted_schema = OFF", "PRAGMA cell_size_check = ON"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	// Packages must be a table: a view could run any query the image
	// chose.
	var kind string
	if err := conn.QueryRowContext(ctx, "SELECT type FROM sqlite_schema WHERE name = 'Packages'").Scan(&kind); err != nil {
		return nil, fmt.Errorf("the rpm sqlite database has no Packages table: %w", err)
	}
	if kind != "table" {
		return nil, fmt.Errorf("Packages in the rpm sqlite database is a %s, not a table", kind)
	}
	rows, err := conn.QueryContext(ctx, "SELECT hnum, blob FROM Packages ORDER BY hnum")
	if err != nil {
		return nil, fmt.Errorf("reading the rpm sqlite database: %w", err)
	}
	defer rows.Close()
	var out []Header
	for rows.Next() {
		var hnum int64
		var blob []byte
		if err := rows.Scan(&hnum, &blob); err != nil {
			return nil, fmt.Errorf("rpm sqlite database: %w", err)
		}
		if len(out) == maxPackages {
			return nil, fmt.Errorf("the rpm sqlite database holds more than %d packages", maxPackages)
		}
		h, err := ParseHeader(blob)
		if err != nil {
			return nil, fmt.Errorf("rpm sqlite database, header %d: %w", hnum, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the rpm sqlite database: %w", err)
	}
	return out, nil
}
