# Programs that record and replay VMs: the session layer and every engine.
xentt_add_tool(tt_record SOURCES tt_record.cc LIBS xentt_session xentt_engines nlohmann_json::nlohmann_json)
xentt_add_tool(tt_replay SOURCES tt_replay.cc LIBS xentt_debug xentt_session xentt_engines nlohmann_json::nlohmann_json)
xentt_add_tool(trace_task SOURCES trace_task.cc LIBS xentt_export xentt_session xentt_engines xentt_tracefmt nlohmann_json::nlohmann_json)
xentt_add_tool(tt_vmi SOURCES tt_vmi.cc LIBS xentt_session xentt_vmi xentt_engines nlohmann_json::nlohmann_json)
