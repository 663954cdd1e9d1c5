"""The drone copilot of OpenAI's function-calling fine-tuning cookbook: 16 tools, prompts the base
model should manage and harder ones it cannot, and checks that a call's arguments fit its tool.

``tools(strict=False)`` writes the schemas as the cookbook does (``additionalProperties`` unsaid,
optional parameters, tools without parameters); ``tools(strict=True)`` as OpenAI's strict mode
wants them (every object closed, every property required, ``"strict": true``).
"""

from __future__ import annotations

import json

import jsonschema

SYSTEM = (
    "You are an intelligent AI that controls a drone. Given a command or request from the user, "
    "call one of your functions to complete the request. If the request cannot be completed by your "
    "available functions, call the reject_request function. If the request is ambiguous or unclear, "
    "reject the request."
)
PLAIN = ["Land the drone at the home base", "Take off the drone to 100 feet"]
HARD = ["Play pre-recorded audio message", "Enable stealth mode"]
INTEGER = {"type": "integer"}


def _enum(*values: str) -> dict:
    return {"type": "string", "enum": list(values)}


ON_OFF = _enum("on", "off")
FUNCTIONS: list[tuple[str, str, dict | None, list[str]]] = [
    ("takeoff_drone", "Take off to an altitude in meters.", {"altitude": INTEGER}, ["altitude"]),
    ("land_drone", "Land the drone.", {"location": _enum("current", "home_base", "custom")}, ["location"]),
    (
        "control_drone_movement",
        "Move the drone in a direction by a distance in meters.",
        {"direction": _enum("forward", "backward", "left", "right", "up", "down"), "distance": INTEGER},
        ["direction", "distance"],
    ),
    ("set_drone_speed", "Set the speed in km/h.", {"speed": {"type": "integer", "minimum": 0}}, ["speed"]),
    (
        "control_camera",
        "Take photos or videos (duration in seconds, for video).",
        {"mode": _enum("photo", "video", "panorama"), "duration": INTEGER},
        ["mode"],
    ),
    ("control_gimbal", "Tilt and pan the camera gimbal, in degrees.", {"tilt": INTEGER, "pan": INTEGER}, []),
    ("set_drone_lighting", "Set the lights.", {"mode": _enum("on", "off", "blink", "sos")}, ["mode"]),
    ("return_to_home", "Fly back to the launch location.", None, []),
    ("set_battery_saver_mode", "Toggle battery saver mode.", {"status": ON_OFF}, ["status"]),
    ("set_obstacle_avoidance", "Toggle obstacle avoidance.", {"mode": ON_OFF}, ["mode"]),
    ("set_follow_me_mode", "Toggle 'follow me' mode.", {"status": ON_OFF}, ["status"]),
    ("calibrate_sensors", "Calibrate the drone's sensors.", {}, []),
    ("set_autopilot", "Toggle autopilot.", {"status": ON_OFF}, ["status"]),
    (
        "configure_led_display",
        "Set the LED display pattern.",
        {"pattern": _enum("solid", "blink", "pulse", "rainbow")},
        ["pattern"],
    ),
    (
        "set_home_location",
        "Set the home location.",
        {
            "coordinates": {
                "type": "object",
                "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}},
            }
        },
        ["coordinates"],
    ),
    ("reject_request", "Use this function if the request is not possible.", None, []),
]


def tools(*, strict: bool = False) -> list[dict]:
    return [_tool(name, text, properties, required, strict) for name, text, properties, required in FUNCTIONS]


def _tool(name: str, text: str, properties: dict | None, required: list[str], strict: bool) -> dict:
    function: dict = {"name": name, "description": text}
    if strict:
        function["strict"] = True
        function["parameters"] = _strict(
            {"type": "object", "properties": properties or {}, "required": list(properties or {})}
        )
    elif properties:
        function["parameters"] = {"type": "object", "properties": properties, "required": required}
    elif properties is not None:  # {} as parameters; None: no "parameters" key at all
        function["parameters"] = {}
    return {"type": "function", "function": function}


def _strict(schema: dict) -> dict:
    if schema.get("type") != "object":
        return schema
    properties = {key: _strict(value) for key, value in schema["properties"].items()}
    return {**schema, "properties": properties, "required": list(properties), "additionalProperties": False}


def check_call(call, offered: list[dict]) -> dict:
    """The arguments of an SDK tool call, checked against its tool: the schema's types, enums and
    required keys (jsonschema), and no key anywhere that the schema does not name."""
    schemas = {t["function"]["name"]: t["function"].get("parameters") or {} for t in offered}
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name in schemas, call.function.name
    arguments = json.loads(call.function.arguments)
    schema = schemas[call.function.name]
    jsonschema.validate(arguments, schema)
    _only_named_keys(arguments, schema)
    return arguments


def _only_named_keys(value, schema: dict) -> None:
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        assert set(value) <= set(properties), f"keys {sorted(value)} beyond {sorted(properties)}"
        for key, item in value.items():
            _only_named_keys(item, properties[key])
