"""City tier and region of Chinese cities (reference data for city_tier and region).

Tiers follow the common commercial classification (一线, 新一线, 二线, 三线); the
list covers the larger cities. A city not listed gets a null tier and region.
"""

from __future__ import annotations

_TIERS: dict[str, list[str]] = {
    "tier1": ["北京", "上海", "广州", "深圳"],
    "new_tier1": ["成都", "杭州", "重庆", "武汉", "西安", "苏州", "天津", "南京", "长沙",
                  "郑州", "东莞", "青岛", "沈阳", "宁波", "昆明", "合肥"],
    "tier2": ["佛山", "无锡", "厦门", "福州", "济南", "温州", "大连", "哈尔滨", "长春", "泉州",
              "石家庄", "南宁", "金华", "贵阳", "南昌", "常州", "嘉兴", "珠海", "南通", "惠州",
              "太原", "中山", "徐州", "绍兴", "台州", "烟台", "兰州", "潍坊", "临沂", "乌鲁木齐"],
    "tier3": ["海口", "扬州", "洛阳", "呼和浩特", "银川", "西宁", "拉萨", "桂林", "三亚",
              "宜昌", "襄阳", "芜湖", "赣州", "汕头", "湛江", "遵义", "绵阳", "柳州", "保定",
              "唐山", "邯郸", "包头", "鞍山", "吉林", "大庆", "淄博", "济宁", "盐城", "泰州"],
}

_REGIONS: dict[str, list[str]] = {
    "north": ["北京", "天津", "石家庄", "太原", "呼和浩特", "保定", "唐山", "邯郸", "包头"],
    "northeast": ["沈阳", "大连", "哈尔滨", "长春", "鞍山", "吉林", "大庆"],
    "east": ["上海", "杭州", "苏州", "南京", "宁波", "合肥", "无锡", "厦门", "福州", "济南",
             "温州", "泉州", "金华", "南昌", "常州", "嘉兴", "南通", "徐州", "绍兴", "台州",
             "烟台", "潍坊", "临沂", "青岛", "扬州", "芜湖", "赣州", "淄博", "济宁", "盐城",
             "泰州"],
    "central": ["武汉", "长沙", "郑州", "洛阳", "宜昌", "襄阳"],
    "south": ["广州", "深圳", "东莞", "佛山", "南宁", "珠海", "惠州", "中山", "海口", "桂林",
              "三亚", "汕头", "湛江", "柳州"],
    "southwest": ["成都", "重庆", "昆明", "贵阳", "拉萨", "遵义", "绵阳"],
    "northwest": ["西安", "兰州", "乌鲁木齐", "银川", "西宁"],
}

CITY_TIER: dict[str, str] = {c: t for t, cities in _TIERS.items() for c in cities}
CITY_REGION: dict[str, str] = {c: r for r, cities in _REGIONS.items() for c in cities}

TIER_LABELS = {
    "tier1": ("一线城市", "Tier 1"),
    "new_tier1": ("新一线城市", "New tier 1"),
    "tier2": ("二线城市", "Tier 2"),
    "tier3": ("三线城市", "Tier 3"),
}
REGION_LABELS = {
    "north": ("华北", "North"),
    "northeast": ("东北", "Northeast"),
    "east": ("华东", "East"),
    "central": ("华中", "Central"),
    "south": ("华南", "South"),
    "southwest": ("西南", "Southwest"),
    "northwest": ("西北", "Northwest"),
}
