# Programs that read .bts files and symbolize: no engine, no session.
xentt_add_tool(bts_dump SOURCES bts_dump.cc LIBS xentt_export xentt_symbolize xentt_tracefmt)
xentt_add_tool(tt_symbolize SOURCES tt_symbolize.cc LIBS xentt_symbolize)
