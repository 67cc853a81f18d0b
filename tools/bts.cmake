# Programs of the bts component (libbts): .bts dumping and symbolizing.
xentt_add_tool(bts_dump SOURCES bts_dump.cc LIBS bts)
xentt_add_tool(tt_symbolize SOURCES tt_symbolize.cc LIBS bts)
