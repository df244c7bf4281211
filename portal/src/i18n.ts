// The portal's words in Chinese and English; the language is kept in localStorage.
export type Lang = "zh" | "en";

const WORDS = {
  brand: ["出口管制许可", "Export control licensing"],
  navSearch: ["管控名单查询", "Control-list search"],
  navSignin: ["登录", "Sign in"],
  navRegister: ["经营者登记", "Register"],
  navApply: ["提交申请", "Apply"],
  navMine: ["我的申请", "My applications"],
  navQueue: ["审查队列", "Review queue"],
  signedOut: ["未登录（公众）", "not signed in (public)"],
  signOut: ["退出", "Sign out"],
  searchTitle: ["管控名单与限制方名单查询", "Search the control list and restricted-party lists"],
  searchHint: ["任何文字：中文、拼音、英文或证件号。无需登录（《出口管制法》第十八条）。",
    "Any script: Chinese, pinyin, English or an identifier. No sign-in needed (ECL Art. 18)."],
  query: ["名称或证件号", "Name or identifier"],
  search: ["查询", "Search"],
  list: ["名单", "List"],
  name: ["名称", "Name"],
  match: ["匹配", "Match"],
  countries: ["国家/地区", "Countries"],
  basis: ["依据/公告", "Basis / announcement"],
  weak: ["弱匹配", "weak"],
  noResults: ["名单中没有匹配项。", "Nothing on the lists matches."],
  results: ["条结果", "result(s)"],
  weakNote: ["条弱匹配：仅拼写相似（得分低于 0.84），很可能不是您要找的当事方。",
    "weak result(s): the name is only similar in spelling (score under 0.84), probably not the party you mean."],
  kind_IDENTIFIER: ["证件号", "identifier"],
  kind_EXACT_NAME: ["全名", "exact name"],
  kind_TOKEN: ["词语", "words"],
  kind_FUZZY: ["相似", "similar"],
  signinTitle: ["开发环境登录", "Development sign-in"],
  signinHint: ["本地环境：在仓库中运行下列命令生成令牌并粘贴。生产环境的令牌由主管部门的身份认证服务签发。",
    "Local stack: run the command below in the repository and paste the token. In production, tokens come from the authority's identity provider."],
  role: ["角色", "Role"],
  exporter: ["出口经营者", "Exporter"],
  officer: ["审查官员", "Officer"],
  uscc: ["统一社会信用代码", "USCC"],
  authority: ["主管部门", "Authority"],
  token: ["令牌", "Token"],
  signIn: ["登录", "Sign in"],
  badToken: ["这不是有效的令牌。", "This is not a valid token."],
  registerTitle: ["出口经营者登记", "Register as an export operator"],
  nameZh: ["中文名称", "Name (Chinese)"],
  nameEn: ["英文名称", "Name (English)"],
  address: ["地址", "Address"],
  register: ["登记", "Register"],
  registered: ["已登记：", "Registered: "],
  applyTitle: ["许可申请", "Licence application"],
  exporterUscc: ["出口经营者统一社会信用代码", "Exporter USCC"],
  destination: ["目的国/地区（ISO 代码）", "Destination (ISO code)"],
  controlCode: ["管制编码", "Control code"],
  itemDescription: ["物项描述", "Item description"],
  hsCode: ["海关商品编码", "HS code"],
  quantity: ["数量", "Quantity"],
  unit: ["单位", "Unit"],
  valueCny: ["价值（人民币元）", "Value (CNY)"],
  endUser: ["最终用户", "End user"],
  endUserCountry: ["最终用户国家/地区", "End user's country"],
  endUse: ["最终用途说明", "End-use statement"],
  eucIssued: ["最终用户证明签发日期", "End-user certificate issued on"],
  eucExpires: ["最终用户证明有效期至", "End-user certificate expires on"],
  submit: ["提交", "Submit"],
  fixFields: ["请更正标出的字段：", "Please correct the marked fields:"],
  submitted: ["已提交", "Submitted"],
  mineTitle: ["我的申请", "My applications"],
  reference: ["编号", "Reference"],
  state: ["状态", "State"],
  deadline: ["法定期限", "Statutory deadline"],
  daysLeft: ["剩余工作日", "Working days left"],
  paused: ["（暂停计时）", "(clock paused)"],
  appTitle: ["申请", "Application"],
  live: ["实时跟踪中", "live"],
  assessedAs: ["已按第十三条八项因素评估：", "Assessed on the eight factors of Art. 13: "],
  factor: ["因素", "Factor"],
  level: ["结论", "Level"],
  findings: ["发现与证据", "Findings and evidence"],
  licence: ["许可证", "Licence"],
  queueTitle: ["审查队列（最早期限在前）", "Review queue (oldest deadline first)"],
  exporterCol: ["出口经营者", "Exporter"],
  decide: ["决定", "Decide"],
  approve: ["批准", "Approve"],
  deny: ["不予许可", "Deny"],
  reasons: ["理由", "Reasons"],
  decided: ["已决定", "Decided"],
  needSignin: ["请先登录。", "Please sign in first."],
  timeline: ["进展", "Progress"],
  error: ["错误", "Error"],
  footer: ["参考门户：所有数据经边缘网关（Envoy）以 JSON 调用平台的公开 gRPC 接口。",
    "Reference portal: every call goes through the edge (Envoy) as JSON to the platform's public gRPC APIs."],
} as const;

export type Word = keyof typeof WORDS;

let lang: Lang = (localStorage.getItem("stc.lang") as Lang) || "zh";

export function t(w: Word): string {
  return WORDS[w][lang === "zh" ? 0 : 1];
}

export function getLang(): Lang {
  return lang;
}

export function setLang(l: Lang): void {
  lang = l;
  localStorage.setItem("stc.lang", l);
  document.documentElement.lang = l === "zh" ? "zh-CN" : "en";
}
