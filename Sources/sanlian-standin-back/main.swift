import SanlianStandin
import ServiceFrame

await ServiceMain.run(StandinBack.self)
