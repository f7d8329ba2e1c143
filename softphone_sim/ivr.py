"""IVR: the voice menu a caller walks through before reaching an agent; the agent sees the path."""
from __future__ import annotations

from dataclasses import dataclass, field


class IvrError(ValueError):
    pass


@dataclass
class IvrNode:
    prompt: str
    options: dict[str, "IvrNode"] = field(default_factory=dict)   # DTMF key -> submenu or leaf
    label: str = ""

    @classmethod
    def from_dict(cls, data: dict, label: str = "") -> "IvrNode":
        return cls(prompt=data.get("prompt", ""), label=label or data.get("label", ""),
                   options={str(k): cls.from_dict(v, v.get("label", "")) for k, v in data.get("options", {}).items()})


# The product's default service-line menu; scenarios may bring their own.
DEFAULT_MENU = IvrNode.from_dict({
    "prompt": "您好，欢迎致电客户服务热线。业务咨询请按1，账单查询请按2，故障报修请按3，投诉建议请按4，人工服务请按0。",
    "options": {
        "1": {"label": "业务咨询", "prompt": "套餐资费请按1，业务办理请按2。",
              "options": {"1": {"label": "套餐资费"}, "2": {"label": "业务办理"}}},
        "2": {"label": "账单查询", "prompt": "话费余额请按1，账单明细请按2。",
              "options": {"1": {"label": "话费余额"}, "2": {"label": "账单明细"}}},
        "3": {"label": "故障报修"},
        "4": {"label": "投诉建议"},
        "0": {"label": "人工服务"},
    },
})


def walk(keys: list[str], menu: IvrNode = DEFAULT_MENU) -> list[dict]:
    """The path a caller took, as the CTI shows it: [{key, label}, ...]. Unknown keys are an error
    in the scenario, reported with the step."""
    node, path = menu, []
    for step, key in enumerate(keys, start=1):
        key = str(key)
        if key not in node.options:
            raise IvrError(f"IVR 第{step}步按键 {key} 不在菜单中（可选：{'、'.join(node.options) or '无'}）")
        node = node.options[key]
        path.append({"key": key, "label": node.label})
    return path
