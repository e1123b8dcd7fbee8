package spool

import "log/slog"

const slogLevelWarn = slog.LevelWarn

func sloggerFor(h slog.Handler) *slog.Logger { return slog.New(h) }
