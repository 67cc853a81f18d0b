# Programs that read replay logs (libxentt's replay log, docs/replay-log.md).
xentt_add_tool(bts_extract SOURCES bts_extract.cc LIBS xentt bts)
xentt_add_tool(xentt_dumplog SOURCES xentt_dumplog.cc LIBS xentt nlohmann_json::nlohmann_json)
