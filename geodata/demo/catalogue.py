"""Demo matter catalogue (执法事项清单) for the demo county.

The rows are modelled on the delegated-matter lists (赋权事项清单) that Zhejiang counties publish
when they hand enforcement powers down to townships -- Xiangshan (象山县) delegated 230 matters to its
18 townships -- and on the national "1+8" professional domains (综合行政执法 plus 市场监管, 生态环境,
交通运输, 文化市场, 农业农村, 应急管理, 自然资源, 卫生监督, and 渔业 for a coastal county).

It is a demo, not a legal reference: names and legal bases follow real laws and regulations, and
article numbers are cited as in the editions in force when such lists were drawn up (several laws
have since been revised and renumbered). Do not use it to decide a real case.

Conventions
-----------
* ``domain``, ``kind`` and ``handled_by`` are the string values of ``geodata.models.Domain``,
  ``Matter.Kind`` and ``Matter.Handler``; this module stays importable without Django.
* ``handled_by="township"``: delegated to the township comprehensive team (facts clear, simple,
  high-frequency).  ``"county"``: kept by the county department's professional team (professional,
  technical or multi-department).  A ``comprehensive`` matter is always township-handled (the model
  forbids county + comprehensive).
* ``code`` is ``<domain prefix>-<kind letters>-<nnn>``, e.g. ``ZH-CF-001``: domain prefixes ZH 综合,
  SC 市场, ST 生态, JT 交通, WH 文化, NY 农业, YJ 应急, ZR 自然资源, WS 卫生, YY 渔业; kind letters
  CF 处罚 (penalty), JC 检查 (inspection), QZ 强制 (coercion), QT 其他 (other).  Codes are stable:
  never renumber, only append.
* ``time_limit_days``: 1 for matters normally settled on the spot under the summary procedure
  (《中华人民共和国行政处罚法》第五十一条), up to 90 under the ordinary procedure (同法第六十条:
  decision within 90 days of filing); 30 for a seizure (《中华人民共和国行政强制法》第二十五条).
"""

from dataclasses import dataclass

# Domain values (geodata.models.Domain).
COMPREHENSIVE = "comprehensive"
MARKET = "market"
ECOLOGY = "ecology"
TRANSPORT = "transport"
CULTURE = "culture"
AGRICULTURE = "agriculture"
EMERGENCY = "emergency"
RESOURCES = "resources"
HEALTH = "health"
FISHERY = "fishery"

# Kind values (geodata.models.Matter.Kind).
PENALTY = "penalty"
INSPECTION = "inspection"
COERCION = "coercion"
OTHER = "other"

# Handler values (geodata.models.Matter.Handler).
TOWNSHIP = "township"
COUNTY = "county"

DOMAIN_PREFIXES: dict[str, str] = {
    COMPREHENSIVE: "ZH",
    MARKET: "SC",
    ECOLOGY: "ST",
    TRANSPORT: "JT",
    CULTURE: "WH",
    AGRICULTURE: "NY",
    EMERGENCY: "YJ",
    RESOURCES: "ZR",
    HEALTH: "WS",
    FISHERY: "YY",
}

KIND_LETTERS: dict[str, str] = {
    PENALTY: "CF",
    INSPECTION: "JC",
    COERCION: "QZ",
    OTHER: "QT",
}


@dataclass(frozen=True, slots=True)
class MatterRow:
    code: str
    name: str
    domain: str
    kind: str
    handled_by: str
    legal_basis: str
    time_limit_days: int


M = MatterRow

# Frequently cited acts, spelled once.
_SHIRONG = "《城市市容和环境卫生管理条例》"
_DAOLU = "《城市道路管理条例》"
_JIAOTONG = "《中华人民共和国道路交通安全法》"
_GUIHUA = "《中华人民共和国城乡规划法》"
_DAQI = "《中华人民共和国大气污染防治法》"
_GUFEI = "《中华人民共和国固体废物污染环境防治法》"
_ZAOSHENG = "《中华人民共和国噪声污染防治法》"
_SHIPIN = "《中华人民共和国食品安全法》"
_ANSHENG = "《中华人民共和国安全生产法》"
_XIAOFANG = "《中华人民共和国消防法》"
_TUDI = "《中华人民共和国土地管理法》"
_SENLIN = "《中华人民共和国森林法》"
_GONGLU = "《中华人民共和国公路法》"
_YUNSHU = "《中华人民共和国道路运输条例》"
_NONGYAO = "《农药管理条例》"
_FANGYI = "《中华人民共和国动物防疫法》"
_GGCS = "《公共场所卫生管理条例》"
_GGCS_XZ = "《公共场所卫生管理条例实施细则》"
_YUYE = "《中华人民共和国渔业法》"
_ZJ_YUYE = "《浙江省渔业管理条例》"
_QIANGZHI = "《中华人民共和国行政强制法》"
_ZJ_ZHZF = "《浙江省综合行政执法条例》"

# One row per matter, kept as a table: two lines a row.
# fmt: off
MATTERS: list[MatterRow] = [
    # ------------------------------------------------------------------ 综合行政执法 (城市管理)
    M("ZH-CF-001", "擅自占用城市道路、公共场地摆摊设点（占道经营）",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_DAOLU}第二十七条第（七）项、第三十一条、第四十二条", 3),
    M("ZH-CF-002", "沿街店铺超出门窗、外墙经营（店外经营）",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_SHIRONG}第十四条、第三十六条第（二）项", 3),
    M("ZH-CF-003", "机动车在人行道违法停放",
      COMPREHENSIVE, PENALTY, TOWNSHIP,
      f"{_JIAOTONG}第五十六条、第九十三条（依相对集中行政处罚权由综合行政执法部门行使）", 1),
    M("ZH-CF-004", "不履行卫生责任区清扫保洁义务或者不按规定清运、处理垃圾（垃圾暴露）",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_SHIRONG}第三十四条第（五）项", 3),
    M("ZH-CF-005", "随意倾倒、抛撒、堆放生活垃圾",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_GUFEI}第四十九条、第一百一十一条第一款第（一）项", 30),
    M("ZH-CF-006", "未经批准擅自设置大型户外广告、影响市容",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_SHIRONG}第十一条、第三十六条第（一）项", 30),
    M("ZH-CF-007", "在建筑物、设施以及树木上涂写、刻画或者未经批准张挂、张贴宣传品",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_SHIRONG}第十七条、第三十四条第（二）项", 1),
    M("ZH-CF-008", "在临街建筑物的阳台和窗外堆放、吊挂有碍市容的物品",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_SHIRONG}第十条、第三十四条第（三）项", 1),
    M("ZH-CF-009", "运输液体、散装货物不作密封、包装、覆盖，造成泄漏、遗撒",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_SHIRONG}第十五条、第三十四条第（六）项", 3),
    M("ZH-CF-010", "临街工地不设置护栏或者不作遮挡、竣工后不及时清理平整场地",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_SHIRONG}第十六条、第三十四条第（七）项", 30),
    M("ZH-CF-011", "未经批准擅自拆除环境卫生设施或者未按批准的拆迁方案进行拆迁",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_SHIRONG}第二十二条、第三十六条第（三）项", 60),
    M("ZH-CF-012", "在城镇规划区内未取得建设工程规划许可证或者未按照许可证规定进行建设",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_GUIHUA}第四十条、第六十四条", 90),
    M("ZH-CF-013", "在乡、村庄规划区内未依法取得乡村建设规划许可证或者未按照许可证规定进行建设",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_GUIHUA}第四十一条、第六十五条", 90),
    M("ZH-CF-014", "露天焚烧秸秆、落叶等产生烟尘污染的物质",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_DAQI}第七十七条、第一百一十九条第一款", 3),
    M("ZH-CF-015", "在人口集中地区焚烧垃圾、塑料、橡胶等产生有毒有害烟尘和恶臭气体的物质",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_DAQI}第八十二条第一款、第一百一十九条第二款", 30),
    M("ZH-CF-016", "在禁止的时段和区域内露天烧烤食品或者为露天烧烤食品提供场地",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_DAQI}第八十一条第三款、第一百一十八条第三款", 3),
    M("ZH-CF-017", "餐饮服务业经营者未安装油烟净化设施或者不正常使用油烟净化设施",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_DAQI}第八十一条第一款、第一百一十八条第一款", 60),
    M("ZH-CF-018", "施工单位未采取覆盖、湿法作业等扬尘污染防治措施",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_DAQI}第六十九条、第一百一十五条", 60),
    M("ZH-CF-019", "工程施工单位擅自倾倒、抛撒或者堆放建筑垃圾",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_GUFEI}第六十三条、第一百一十一条第一款第（四）项", 60),
    M("ZH-CF-020", "未取得污水排入排水管网许可证向城镇排水设施排放污水",
      COMPREHENSIVE, PENALTY, TOWNSHIP, "《城镇排水与污水处理条例》第二十一条、第五十条", 60),
    M("ZH-CF-021", "擅自砍伐城市树木或者损坏城市树木花草、绿化设施",
      COMPREHENSIVE, PENALTY, TOWNSHIP, "《城市绿化条例》第二十条、第二十六条", 60),
    M("ZH-CF-022", "饲养家畜家禽影响市容和环境卫生",
      COMPREHENSIVE, PENALTY, TOWNSHIP, f"{_SHIRONG}第三十五条", 3),
    M("ZH-JC-001", "市容环境卫生责任区及门前三包落实情况检查",
      COMPREHENSIVE, INSPECTION, TOWNSHIP, f"{_SHIRONG}第四条；{_ZJ_ZHZF}", 30),
    M("ZH-JC-002", "户外广告设施及店招店牌设置安全检查",
      COMPREHENSIVE, INSPECTION, TOWNSHIP, f"{_SHIRONG}第十一条；《中华人民共和国广告法》第四十一条", 30),
    M("ZH-QZ-001", "暂扣占道经营的物品、工具",
      COMPREHENSIVE, COERCION, TOWNSHIP,
      f"{_QIANGZHI}第九条第（二）项、第二十四条、第二十五条；{_ZJ_ZHZF}", 30),
    M("ZH-QZ-002", "强制拆除违法建筑物、构筑物",
      COMPREHENSIVE, COERCION, TOWNSHIP, f"{_GUIHUA}第六十五条、第六十八条；{_QIANGZHI}第四十四条", 90),
    M("ZH-QT-001", "责令限期拆除违法建设（责令改正）",
      COMPREHENSIVE, OTHER, TOWNSHIP,
      f"{_GUIHUA}第六十四条、第六十五条；《中华人民共和国行政处罚法》第二十八条", 15),
    # ------------------------------------------------------------------ 市场监管
    M("SC-CF-001", "无照经营（流动摊贩超出指定场所和时间经营）",
      MARKET, PENALTY, TOWNSHIP, "《无证无照经营查处办法》第二条、第三条、第十三条", 30),
    M("SC-CF-002", "食品摊贩未按规定登记或者不符合食品安全要求从事经营",
      MARKET, PENALTY, TOWNSHIP,
      f"{_SHIPIN}第三十六条；《浙江省食品小作坊小餐饮店小食杂店和食品摊贩管理规定》", 30),
    M("SC-CF-003", "经营者不明码标价或者不按规定明码标价",
      MARKET, PENALTY, TOWNSHIP, "《中华人民共和国价格法》第十三条、第四十二条", 30),
    M("SC-CF-004", "安排未取得健康证明的人员从事接触直接入口食品的工作",
      MARKET, PENALTY, TOWNSHIP, f"{_SHIPIN}第四十五条、第一百二十六条第一款第（六）项", 60),
    M("SC-CF-005", "经营超过保质期或者标注虚假生产日期、保质期的食品",
      MARKET, PENALTY, TOWNSHIP, f"{_SHIPIN}第三十四条第（十）项、第一百二十四条第一款第（五）项", 90),
    M("SC-CF-006", "未取得食品经营许可从事食品经营活动",
      MARKET, PENALTY, COUNTY, f"{_SHIPIN}第三十五条、第一百二十二条", 90),
    M("SC-CF-007", "生产、销售不符合保障人体健康和人身、财产安全标准的产品",
      MARKET, PENALTY, COUNTY, "《中华人民共和国产品质量法》第十三条、第四十九条", 90),
    M("SC-CF-008", "在产品中掺杂、掺假，以假充真，以次充好",
      MARKET, PENALTY, COUNTY, "《中华人民共和国产品质量法》第三十二条、第三十九条、第五十条", 90),
    M("SC-CF-009", "发布虚假广告",
      MARKET, PENALTY, COUNTY, "《中华人民共和国广告法》第四条、第二十八条、第五十五条", 90),
    M("SC-JC-001", "小餐饮店、小食杂店、食品摊贩日常监督检查",
      MARKET, INSPECTION, TOWNSHIP, f"{_SHIPIN}第一百零九条、第一百一十条", 30),
    M("SC-JC-002", "电梯、锅炉等特种设备使用安全监督检查",
      MARKET, INSPECTION, COUNTY, "《中华人民共和国特种设备安全法》第五十七条、第六十一条", 30),
    M("SC-QZ-001", "查封、扣押不符合食品安全标准或者有证据证明可能危害人体健康的食品",
      MARKET, COERCION, COUNTY, f"{_SHIPIN}第一百一十条第（四）项；{_QIANGZHI}第二十五条", 30),
    M("SC-QT-001", "消费者投诉举报受理与处理（12315）",
      MARKET, OTHER, TOWNSHIP, "《市场监督管理投诉举报处理暂行办法》第十八条", 7),
    # ------------------------------------------------------------------ 生态环境
    M("ST-CF-001", "在噪声敏感建筑物集中区域夜间进行产生噪声的建筑施工作业",
      ECOLOGY, PENALTY, TOWNSHIP, f"{_ZAOSHENG}第四十三条、第七十七条", 30),
    M("ST-CF-002", "在噪声敏感建筑物集中区域使用高音广播喇叭招揽顾客",
      ECOLOGY, PENALTY, TOWNSHIP, f"{_ZAOSHENG}第六十四条、第八十二条", 3),
    M("ST-CF-003", "建设项目未依法报批环境影响评价文件擅自开工建设",
      ECOLOGY, PENALTY, COUNTY, "《中华人民共和国环境影响评价法》第二十五条、第三十一条", 90),
    M("ST-CF-004", "超过大气污染物排放标准排放大气污染物",
      ECOLOGY, PENALTY, COUNTY, f"{_DAQI}第十八条、第九十九条第（二）项", 90),
    M("ST-CF-005", "通过暗管、渗井、渗坑等逃避监管的方式排放水污染物",
      ECOLOGY, PENALTY, COUNTY, "《中华人民共和国水污染防治法》第三十九条、第八十三条", 90),
    M("ST-JC-001", "排污单位现场检查",
      ECOLOGY, INSPECTION, COUNTY, "《中华人民共和国环境保护法》第二十四条", 30),
    M("ST-QZ-001", "查封、扣押造成或者可能造成严重污染的设施、设备",
      ECOLOGY, COERCION, COUNTY,
      "《中华人民共和国环境保护法》第二十五条；《环境保护主管部门实施查封、扣押办法》第四条", 30),
    # ------------------------------------------------------------------ 交通运输
    M("JT-CF-001", "在公路上及公路用地范围内摆摊设点、堆放物品、倾倒垃圾",
      TRANSPORT, PENALTY, TOWNSHIP, f"{_GONGLU}第四十六条、第七十七条", 30),
    M("JT-CF-002", "在公路用地范围内擅自设置非公路标志",
      TRANSPORT, PENALTY, TOWNSHIP, f"{_GONGLU}第五十四条、第七十九条", 30),
    M("JT-CF-003", "未取得道路运输经营许可擅自从事道路客运经营（非法营运）",
      TRANSPORT, PENALTY, COUNTY, f"{_YUNSHU}第十条、第六十三条", 90),
    M("JT-CF-004", "在公路建筑控制区内修建建筑物、地面构筑物",
      TRANSPORT, PENALTY, COUNTY, f"{_GONGLU}第五十六条、第八十一条", 90),
    M("JT-CF-005", "车辆违法超限运输",
      TRANSPORT, PENALTY, COUNTY, "《公路安全保护条例》第三十三条、第六十四条", 30),
    M("JT-JC-001", "道路运输经营者安全生产和经营行为监督检查",
      TRANSPORT, INSPECTION, COUNTY, f"{_YUNSHU}第五章", 30),
    # ------------------------------------------------------------------ 文化市场
    M("WH-CF-001", "擅自从事互联网上网服务经营活动（黑网吧）",
      CULTURE, PENALTY, TOWNSHIP, "《互联网上网服务营业场所管理条例》第七条、第二十七条", 30),
    M("WH-CF-002", "未经批准擅自从事出版物发行业务（无证销售出版物）",
      CULTURE, PENALTY, TOWNSHIP, "《出版管理条例》第三十五条、第六十一条", 30),
    M("WH-CF-003", "歌舞娱乐场所接纳未成年人",
      CULTURE, PENALTY, COUNTY, "《娱乐场所管理条例》第二十三条、第四十八条", 60),
    M("WH-CF-004", "互联网上网服务营业场所接纳未成年人",
      CULTURE, PENALTY, COUNTY, "《互联网上网服务营业场所管理条例》第二十一条、第三十一条", 60),
    M("WH-CF-005", "在文物保护单位保护范围内擅自进行建设工程或者爆破、钻探、挖掘作业",
      CULTURE, PENALTY, COUNTY, "《中华人民共和国文物保护法》第十七条、第六十六条", 90),
    M("WH-JC-001", "娱乐场所、网吧等文化经营场所日常巡查",
      CULTURE, INSPECTION, TOWNSHIP,
      "《娱乐场所管理条例》第五章；《互联网上网服务营业场所管理条例》第四条", 30),
    # ------------------------------------------------------------------ 农业农村
    M("NY-CF-001", "农村村民未经批准或者采取欺骗手段骗取批准，非法占用土地建住宅",
      AGRICULTURE, PENALTY, TOWNSHIP, f"{_TUDI}第六十二条、第七十八条", 90),
    M("NY-CF-002", "不按照标签规定使用农药或者使用禁用的农药",
      AGRICULTURE, PENALTY, TOWNSHIP, f"{_NONGYAO}第三十四条、第六十条", 60),
    M("NY-CF-003", "对饲养的动物未按照动物疫病强制免疫计划实施免疫接种",
      AGRICULTURE, PENALTY, TOWNSHIP, f"{_FANGYI}第十七条、第九十二条第（一）项", 30),
    M("NY-CF-004", "未取得农药经营许可证经营农药或者经营假农药",
      AGRICULTURE, PENALTY, COUNTY, f"{_NONGYAO}第二十四条、第五十五条", 90),
    M("NY-CF-005", "屠宰、经营、运输未附有检疫证明的动物或者动物产品",
      AGRICULTURE, PENALTY, COUNTY, f"{_FANGYI}第二十九条、第九十七条", 90),
    M("NY-JC-001", "农资经营门店和农药使用监督检查",
      AGRICULTURE, INSPECTION, TOWNSHIP, f"{_NONGYAO}第四十一条", 30),
    M("NY-QZ-001", "查封、扣押违法生产、经营、使用的农药",
      AGRICULTURE, COERCION, COUNTY, f"{_NONGYAO}第四十一条第（五）项；{_QIANGZHI}第二十五条", 30),
    # ------------------------------------------------------------------ 应急管理
    M("YJ-CF-001", "生产经营单位未按照规定对从业人员进行安全生产教育和培训",
      EMERGENCY, PENALTY, TOWNSHIP, f"{_ANSHENG}第二十八条、第九十七条第（三）项", 60),
    M("YJ-CF-002", "未在有较大危险因素的生产经营场所和有关设施、设备上设置明显的安全警示标志",
      EMERGENCY, PENALTY, TOWNSHIP, f"{_ANSHENG}第三十五条、第九十九条第（一）项", 60),
    M("YJ-CF-003", "占用、堵塞、封闭疏散通道、安全出口",
      EMERGENCY, PENALTY, TOWNSHIP, f"{_XIAOFANG}第二十八条、第六十条第一款第（三）项", 30),
    M("YJ-CF-004", "违反规定使用明火作业或者在具有火灾、爆炸危险的场所吸烟、使用明火",
      EMERGENCY, PENALTY, TOWNSHIP, f"{_XIAOFANG}第二十一条、第六十三条第（二）项", 3),
    M("YJ-CF-005", "未经许可经营烟花爆竹制品",
      EMERGENCY, PENALTY, COUNTY, "《烟花爆竹安全管理条例》第十九条、第三十六条", 60),
    M("YJ-CF-006", "未取得危险化学品经营许可证经营危险化学品",
      EMERGENCY, PENALTY, COUNTY, "《危险化学品安全管理条例》第三十三条、第七十七条第三款", 90),
    M("YJ-JC-001", "小微企业和九小场所安全生产监督检查",
      EMERGENCY, INSPECTION, TOWNSHIP, f"{_ANSHENG}第六十五条", 30),
    M("YJ-QZ-001", "查封、扣押不符合保障安全生产标准的设施、设备、器材",
      EMERGENCY, COERCION, COUNTY, f"{_ANSHENG}第六十五条第一款第（四）项；{_QIANGZHI}第二十五条", 30),
    M("YJ-QT-001", "责令立即排除事故隐患或者暂时停产停业",
      EMERGENCY, OTHER, COUNTY, f"{_ANSHENG}第六十五条第一款第（三）项", 15),
    # ------------------------------------------------------------------ 自然资源
    M("ZR-CF-001", "占用耕地建窑、建坟或者擅自在耕地上建房、挖砂、采石、取土",
      RESOURCES, PENALTY, TOWNSHIP, f"{_TUDI}第三十七条、第七十五条", 90),
    M("ZR-CF-002", "滥伐林木",
      RESOURCES, PENALTY, TOWNSHIP, f"{_SENLIN}第五十六条、第七十六条第二款", 60),
    M("ZR-CF-003", "未经批准或者采取欺骗手段骗取批准，非法占用土地",
      RESOURCES, PENALTY, COUNTY, f"{_TUDI}第四十四条、第七十七条", 90),
    M("ZR-CF-004", "未取得采矿许可证擅自采矿",
      RESOURCES, PENALTY, COUNTY, "《中华人民共和国矿产资源法》（2009年修正）第三条、第三十九条", 90),
    M("ZR-CF-005", "未经审核同意擅自改变林地用途",
      RESOURCES, PENALTY, COUNTY, f"{_SENLIN}第三十七条、第七十三条", 90),
    M("ZR-JC-001", "耕地保护和违法用地动态巡查",
      RESOURCES, INSPECTION, TOWNSHIP, f"{_TUDI}第六十七条、第六十八条", 30),
    # ------------------------------------------------------------------ 卫生监督
    M("WS-CF-001", "公共场所从业人员未获得有效健康合格证明上岗",
      HEALTH, PENALTY, TOWNSHIP, f"{_GGCS}第七条、第十四条第一款第（二）项", 30),
    M("WS-CF-002", "公共场所未按照规定对顾客用品用具进行清洗、消毒、保洁",
      HEALTH, PENALTY, TOWNSHIP, f"{_GGCS_XZ}第十四条、第三十六条第（二）项", 30),
    M("WS-CF-003", "未依法取得公共场所卫生许可证擅自营业",
      HEALTH, PENALTY, COUNTY, f"{_GGCS}第八条；{_GGCS_XZ}第二十二条、第三十五条", 60),
    M("WS-CF-004", "未取得医疗机构执业许可证擅自执业（非法行医）",
      HEALTH, PENALTY, COUNTY, "《中华人民共和国基本医疗卫生与健康促进法》第三十八条、第九十九条", 90),
    M("WS-JC-001", "住宿、美容美发、沐浴等公共场所卫生监督检查",
      HEALTH, INSPECTION, TOWNSHIP, f"{_GGCS}第十条、第十一条", 30),
    # ------------------------------------------------------------------ 渔业
    M("YY-CF-001", "在禁渔区或者禁渔期内进行捕捞",
      FISHERY, PENALTY, TOWNSHIP, f"{_YUYE}第三十条、第三十八条；{_ZJ_YUYE}", 60),
    M("YY-CF-002", "使用炸鱼、毒鱼、电鱼等破坏渔业资源方法进行捕捞",
      FISHERY, PENALTY, TOWNSHIP, f"{_YUYE}第三十条、第三十八条", 60),
    M("YY-CF-003", "收购、代冻、销售禁渔期非法渔获物或者超比例幼鱼",
      FISHERY, PENALTY, TOWNSHIP, f"{_ZJ_YUYE}；{_YUYE}第三十条", 60),
    M("YY-CF-004", "未依法取得捕捞许可证擅自进行捕捞",
      FISHERY, PENALTY, COUNTY, f"{_YUYE}第二十三条、第四十一条", 90),
    M("YY-CF-005", "违反捕捞许可证关于作业类型、场所、时限和渔具数量的规定进行捕捞",
      FISHERY, PENALTY, COUNTY, f"{_YUYE}第二十五条、第四十二条", 90),
    M("YY-CF-006", "涂改、买卖、出租或者以其他形式转让捕捞许可证",
      FISHERY, PENALTY, COUNTY, f"{_YUYE}第二十三条、第四十三条", 90),
    M("YY-JC-001", "渔港、渔船及渔获物交易场所渔政检查",
      FISHERY, INSPECTION, TOWNSHIP, f"{_YUYE}第六条；{_ZJ_YUYE}", 30),
    M("YY-QZ-001", "扣押违法捕捞的渔具、渔获物和渔船",
      FISHERY, COERCION, COUNTY, f"{_ZJ_YUYE}；{_QIANGZHI}第九条第（二）项、第二十五条", 30),
]
# fmt: on

# Camera alert types (the camera intake's labels) -> the matter a confirmed alert becomes.
CAMERA_ALERT_MATTERS: dict[str, str] = {
    "street_vending": "ZH-CF-001",  # 占道经营
    "illegal_parking": "ZH-CF-003",  # 违章停车（人行道）
    "exposed_rubbish": "ZH-CF-004",  # 暴露垃圾
    "illegal_construction": "ZH-CF-012",  # 违法建设
    "smoke_fire": "ZH-CF-014",  # 烟火（露天焚烧秸秆、落叶）
    "outdoor_ads": "ZH-CF-006",  # 违规户外广告
    "roadside_burning": "ZH-CF-015",  # 露天焚烧垃圾
}

MATTERS_BY_CODE: dict[str, MatterRow] = {m.code: m for m in MATTERS}


def matter_for_alert(alert_type: str) -> MatterRow:
    """The catalogue row a camera alert of ``alert_type`` maps to (KeyError if unknown)."""
    return MATTERS_BY_CODE[CAMERA_ALERT_MATTERS[alert_type]]
