# Programs that read trace logs (.xtl, docs/trace-log.md): no engine, no session.
xentt_add_tool(bts_extract SOURCES bts_extract.cc LIBS xentt_tracefmt)
xentt_add_tool(xentt_dumplog SOURCES xentt_dumplog.cc LIBS xentt_tracefmt nlohmann_json::nlohmann_json)
xentt_add_tool(xentt_savelog SOURCES xentt_savelog.cc LIBS xentt_tracefmt nlohmann_json::nlohmann_json)
